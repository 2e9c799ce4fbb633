"""The one lifecycle of a verification, for `opsbook verify` and for `pytest runbooks/` alike.

Choose the runbooks (and this shard's share), bring the sandbox up when it is not already, verify
each runbook, write JUnit XML and status.json after every runbook (a crash later loses nothing),
and take the sandbox down again if this verification started it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

from opsbook.errors import OpsbookError, RunbookFormatError
from opsbook.runbook.discover import excluded_names, id_root, load_runbook, runbook_files, runbook_id, runbooks_dir
from opsbook.runbook.model import Runbook
from opsbook.sandbox.progress import ProgressFactory
from opsbook.text import display_path, utc_now
from opsbook.verify.junit import write_junit
from opsbook.verify.result import CaseResult, RunbookVerification
from opsbook.verify.shard import Shard, recorded_durations, sandbox_project
from opsbook.verify.status import build_status, load_status_document, write_status
from opsbook.verify.verifier import QuietReporter, Reporter, RunFunction, Verifier, VerifySandbox, VerifySettings


class SandboxLifecycle(VerifySandbox, Protocol):
    """A sandbox verification can also bring up and take down (`opsbook.sandbox.Sandbox`)."""

    def up(self, *, timeout: float = ..., progress: ProgressFactory | None = ...) -> None: ...

    def down(self) -> object: ...


SandboxFactory = Callable[[Path, str], SandboxLifecycle]
"""(project root, compose project) → the sandbox; `opsbook.sandbox.Sandbox` unless a test says otherwise."""


@dataclass(frozen=True)
class VerifyRequest:
    """What a verification was asked to do."""

    root: Path
    paths: tuple[Path, ...] = ()  # empty: <root>/runbooks
    out: Path | None = None  # default <root>/build/verify
    junit: Path | None = None  # default <out>/junit.xml
    shard: Shard | None = None
    project: str | None = None
    keep_sandbox: bool = False
    up_timeout: float = 600.0
    alert_timeout: float = 180.0
    durations: Path | None = None  # a status.json whose durations balance the shards

    @property
    def durations_path(self) -> Path:
        """The status.json the shards are balanced by: --durations, else the unsharded results
        folder's (where a merge writes the last complete status)."""
        return self.durations if self.durations is not None else self.root / "build" / "verify" / "status.json"

    @property
    def out_dir(self) -> Path:
        if self.out is not None:
            return self.out
        base = self.root / "build" / "verify"
        # Shards running side by side on one machine must not write the same files.
        return base / f"shard-{self.shard.index}-of-{self.shard.count}" if self.shard else base

    @property
    def junit_path(self) -> Path:
        return self.junit if self.junit is not None else self.out_dir / "junit.xml"

    @property
    def sandbox_project(self) -> str:
        return sandbox_project(self.shard, self.project)

    @property
    def status_path(self) -> Path:
        return self.out_dir / "status.json"


@dataclass(frozen=True)
class VerifyOutcome:
    verifications: tuple[RunbookVerification, ...]
    selected: int  # runbooks in this shard (readable or not)
    format_errors: int
    junit: Path | None
    status: Path | None

    @property
    def exit_status(self) -> int:
        """0 every runbook passed; 2 a runbook could not be read; 1 a verification failed."""
        if self.format_errors:
            return 2
        return 0 if all(v.passed for v in self.verifications) else 1


def git_commit(root: Path) -> str | None:
    """The commit being verified (with `+dirty` if the work tree has changes), or None outside git."""
    if shutil.which("git") is None:
        return None
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}+dirty" if dirty else sha or None


def not_verified(runbook_id: str, title: str, path: str, error: str, commit: str | None,
                 scenario: str | None = None) -> RunbookVerification:
    """A runbook of which nothing ran, failed with `error` (unreadable, or no sandbox)."""
    now = utc_now()
    case = CaseResult(case="default", scenario=scenario, started_at=now, duration=0.0, error=error)
    return RunbookVerification(runbook_id, title, path, now, 0.0, (case,), commit)


def collect(paths: Sequence[Path], root: Path) -> tuple[list[Runbook], list[RunbookVerification]]:
    """The runbooks below `paths` (files or directories), and one failed verification per unreadable file.

    Ids follow `discover`'s rule, with the directory given as the last resort.
    """
    found: list[Runbook] = []
    broken: list[RunbookVerification] = []
    seen: set[Path] = set()
    commit: str | None = None
    exclude = excluded_names(root)
    for given in paths:
        base = given.resolve() if given.is_dir() else given.resolve().parent
        for path in runbook_files([given], exclude):
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            folder = id_root(path, root, base)
            try:
                found.append(load_runbook(path, folder))
            except RunbookFormatError as exc:
                rid = runbook_id(path, folder)
                commit = commit or git_commit(root)
                broken.append(not_verified(rid, rid, display_path(path, root),
                                           "cannot read the runbook (nothing ran): " + str(exc), commit))
    return found, broken


@dataclass
class VerifySuite:
    """One verification session: its sandbox, brought up on first use (and down at the end when it
    was not up before), the runbooks verified so far, and their results on disk."""

    request: VerifyRequest
    reporter: Reporter = field(default_factory=QuietReporter)
    sandbox_factory: SandboxFactory | None = None
    run: RunFunction | None = None
    up_progress: ProgressFactory | None = None
    results: list[RunbookVerification] = field(default_factory=list)
    assigned: tuple[str, ...] = ()  # a shard's runbooks (its status.json names them for the merge)

    def __post_init__(self) -> None:
        self.commit = git_commit(self.request.root)
        self.sandbox: SandboxLifecycle | None = None
        self.verifier: Verifier | None = None
        self.was_up = False
        self.up_error: str | None = None

    def __enter__(self) -> VerifySuite:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def add(self, verification: RunbookVerification) -> None:
        """A result obtained elsewhere (a runbook that could not be read), kept with the others."""
        self.results.append(verification)

    def verify(self, runbook: Runbook) -> RunbookVerification:
        """Verify one runbook (starting the sandbox first if needed); never raises for a failing runbook."""
        if self.verifier is None and self.up_error is None:
            self._start()
        if self.verifier is None:
            verification = not_verified(runbook.id, runbook.title, display_path(runbook.path, self.request.root),
                                        f"the sandbox did not come up, nothing ran: {self.up_error}", self.commit,
                                        runbook.scenario)
        else:
            verification = self.verifier.verify(runbook)
        self.results.append(verification)
        self.write_results()  # a crash later loses nothing
        return verification

    def write_results(self) -> tuple[Path, Path]:
        """JUnit XML and status.json (merged with the runbooks an earlier verification left there)."""
        request = self.request
        junit = write_junit(request.junit_path, self.results)
        previous = load_status_document(request.status_path)
        shard = None
        if request.shard is not None:
            shard = {"index": request.shard.index, "count": request.shard.count, "runbooks": self.assigned}
        status = write_status(request.status_path, build_status(self.results, self.commit, previous=previous,
                                                                 shard=shard))
        return junit, status

    def close(self) -> None:
        """Take the sandbox down if this suite brought it up (unless asked to keep it)."""
        sandbox, self.sandbox, self.verifier = self.sandbox, None, None
        if sandbox is not None and not self.was_up and not self.request.keep_sandbox:
            try:
                sandbox.down()
            except OpsbookError:
                pass

    def _start(self) -> None:
        request = self.request
        factory = self.sandbox_factory
        if factory is None:
            from opsbook.sandbox import Sandbox  # docker and compose only when a runbook is verified

            factory = Sandbox
        sandbox = factory(request.root, request.sandbox_project)
        self.sandbox = sandbox
        try:
            self.was_up = bool(sandbox.healthy())
        except OpsbookError:
            self.was_up = False
        try:
            if not self.was_up:
                sandbox.up(timeout=request.up_timeout, progress=self.up_progress)
        except OpsbookError as exc:
            self.up_error = str(exc)
            return
        settings = VerifySettings(root=request.root, out=request.out_dir, project=request.sandbox_project,
                                  alert_fire_timeout=request.alert_timeout,
                                  alert_resolve_timeout=request.alert_timeout)
        self.verifier = Verifier(sandbox, settings, run=self.run, reporter=self.reporter, commit=self.commit)


def select(request: VerifyRequest) -> tuple[list[Runbook], list[RunbookVerification], int]:
    """This request's runbooks, its unreadable files (as failed verifications) and how many runbooks there are in all."""
    runbooks, broken = collect(list(request.paths) or [runbooks_dir(request.root)], request.root)
    total = len(runbooks)
    if request.shard is not None:
        ids = [r.id for r in runbooks] + [b.runbook_id for b in broken]
        mine = request.shard.share(ids, recorded_durations(load_status_document(request.durations_path)))
        runbooks = [r for r in runbooks if r.id in mine]
        broken = [b for b in broken if b.runbook_id in mine]
    return runbooks, broken, total


Selection = tuple[list[Runbook], list[RunbookVerification]]


def run_verification(request: VerifyRequest, reporter: Reporter | None = None,
                     sandbox_factory: SandboxFactory | None = None,
                     run: RunFunction | None = None, up_progress: ProgressFactory | None = None,
                     selection: Selection | None = None) -> VerifyOutcome:
    """Select runbooks (and this shard's share), bring the sandbox up, verify each, write results.

    `selection` is what `select(request)` returned, when the caller already asked for it.
    """
    runbooks, broken = selection if selection is not None else select(request)[:2]
    assigned = tuple(r.id for r in runbooks) + tuple(b.runbook_id for b in broken)
    with VerifySuite(request, reporter or QuietReporter(), sandbox_factory, run, up_progress,
                     assigned=assigned) as suite:
        for verification in broken:
            suite.add(verification)
        for runbook in runbooks:
            suite.verify(runbook)
        junit, status = suite.write_results()
    return VerifyOutcome(tuple(suite.results), len(runbooks) + len(broken), len(broken), junit, status)
