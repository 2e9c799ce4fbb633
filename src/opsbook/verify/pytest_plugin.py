"""pytest plugin: `pytest runbooks/` verifies each runbook as one test item against a session sandbox.

A Markdown file is collected when it lies in a `runbooks/` folder or is named on the command
line; each becomes one item named by its id (`-k worker` selects by id). The item runs the
same verification as `opsbook verify` and fails with the same message; its steps are in the
report (a section, and `<properties>` under `--junitxml`). Items carry the `sandbox` marker,
so `-m "not sandbox"` leaves them out of a fast run. status.json and the executed notebooks
go to `--opsbook-out` (default build/verify).
"""

from __future__ import annotations

from collections.abc import Iterator
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from opsbook.errors import OpsbookError, RunbookFormatError, UsageError
from opsbook.run.events import Event, StepFinished, StepStatus
from opsbook.runbook.model import Runbook
from opsbook.text import format_duration
from opsbook.verify.result import RunbookVerification

if TYPE_CHECKING:
    from opsbook.verify.suite import VerifyRequest, VerifySuite

_STATE = pytest.StashKey["_PluginState"]()


class OpsbookHooks:
    """Hooks a conftest.py can implement."""

    @pytest.hookspec(firstresult=True)
    def pytest_opsbook_sandbox(self, config: pytest.Config, root: Path, project: str) -> Any:
        """Return the sandbox to verify against (default: `opsbook.sandbox.Sandbox(root, project)`).

        It needs `up`, `down`, `reset`, `healthy`, `env`, `secret_names`, `inject`, `heal`,
        `firing_alerts` and `wait_alerts`, like `opsbook.sandbox.Sandbox`.
        """


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(OpsbookHooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("opsbook", "opsbook runbook verification")
    group.addoption("--opsbook-shard", metavar="I/N", default=None,
                    help="verify shard I of N of the collected runbooks (its own sandbox project)")
    group.addoption("--opsbook-project", metavar="NAME", default=None,
                    help="sandbox compose project (default: opsbook-verify, or opsbook-shard-I-of-N)")
    group.addoption("--opsbook-out", metavar="DIR", default=None,
                    help="where status.json, executed notebooks and records go (default: build/verify)")
    group.addoption("--opsbook-keep-sandbox", action="store_true", default=False,
                    help="leave the sandbox running after the session")
    group.addoption("--opsbook-alert-timeout", metavar="SECONDS", type=float, default=180.0,
                    help="how long to wait for alerts to fire and to resolve (default 180)")
    group.addoption("--opsbook-sandboxes", metavar="N", type=int, default=None,
                    help="with pytest-xdist (-n W): run each sandbox's tests (its runbooks, and with the "
                         "first the tests marked sandbox) in one worker, the rest beside them; N > 1 "
                         "verifies the runbooks in N sandboxes at once (the project, P-2 ... P-N), "
                         "balanced by recorded durations, merged into one status.json")
    group.addoption("--opsbook-shared-seconds", metavar="SECONDS", type=float, default=0.0,
                    help="with --opsbook-sandboxes: seconds of other tests (marked sandbox) that run "
                         "in the first sandbox, so it is given fewer runbooks (default 0)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "runbook: a runbook verified against the sandbox (opsbook plugin)")
    config.addinivalue_line("markers", "sandbox: needs the docker compose sandbox (real docker engine)")
    shard = None
    if config.getoption("--opsbook-shard"):
        from opsbook.verify.shard import Shard

        try:
            shard = Shard.parse(config.getoption("--opsbook-shard"))
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from exc
    asked = config.getoption("--opsbook-sandboxes")
    sandboxes = 1 if asked is None else asked
    if sandboxes < 1:
        raise pytest.UsageError(f"--opsbook-sandboxes {sandboxes}: give 1 or more")
    if sandboxes > 1 and shard is not None:
        raise pytest.UsageError("--opsbook-shard and --opsbook-sandboxes split the runbooks two ways: give one "
                                "(a shard per machine, or several sandboxes on this one)")
    config.stash[_STATE] = _PluginState(config, shard, sandboxes, grouped=asked is not None)


def _named_on_command_line(config: pytest.Config, path: Path) -> bool:
    for arg in config.args:
        candidate = Path(arg.split("::")[0])
        if not candidate.is_absolute():
            candidate = Path(config.invocation_params.dir) / candidate
        if candidate.resolve() == path.resolve():
            return True
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".md":
        return None
    from opsbook.runbook.discover import excluded_names, id_root, is_excluded, project_root, runbooks_dir

    if _named_on_command_line(parent.config, file_path):
        return RunbookFile.from_parent(parent, path=file_path)
    root = project_root(Path(parent.config.invocation_params.dir))
    resolved = file_path.resolve()
    if not (any(part == "runbooks" for part in resolved.parts[:-1])
            or resolved.is_relative_to(runbooks_dir(root).resolve())):
        return None
    relative = file_path.resolve().relative_to(id_root(file_path, root)).as_posix()
    if is_excluded(relative, excluded_names(root)):
        return None  # README.md and the like: not runbooks
    return RunbookFile.from_parent(parent, path=file_path)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash[_STATE]
    if state.grouped:
        _group_by_sandbox(state, items)
    if state.shard is None:
        return
    from opsbook.verify.shard import recorded_durations
    from opsbook.verify.status import load_status_document

    ids = [item.runbook.id for item in items if isinstance(item, RunbookItem)]
    mine = state.shard.share(ids, recorded_durations(load_status_document(state.request().durations_path)))
    keep, drop = [], []
    for item in items:
        if isinstance(item, RunbookItem) and item.runbook.id not in mine:
            drop.append(item)
        else:
            keep.append(item)
    state.assigned = tuple(sorted(mine))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _group_by_sandbox(state: _PluginState, items: list[pytest.Item]) -> None:
    """Each runbook to one of the sandboxes (an xdist_group each), the other tests marked
    `sandbox` to the first (the session's), and the groups first in the collection, so that
    xdist starts one per worker before the rest of the suite fills the gaps."""
    from opsbook.verify.shard import assign, recorded_durations
    from opsbook.verify.status import load_status_document

    ids = [item.runbook.id for item in items if isinstance(item, RunbookItem)]
    durations = recorded_durations(load_status_document(state.request().durations_path))
    state.groups = assign(ids, state.sandboxes, durations,
                          head_start={1: state.config.getoption("--opsbook-shared-seconds")})
    order: dict[int, int] = {}
    grouped: dict[str, str] = {}
    for position, item in enumerate(items):
        if isinstance(item, RunbookItem):
            group = state.groups[item.runbook.id]
        elif item.get_closest_marker("sandbox") is not None:
            group = 1
        else:
            order[position] = state.sandboxes
            continue
        grouped[item.nodeid] = sandbox_group(group)
        order[position] = group - 1
    ranked = sorted(range(len(items)), key=lambda position: order[position])
    items[:] = [items[position] for position in ranked]
    workerinput = getattr(state.config, "workerinput", None)
    if workerinput is not None:
        from opsbook.verify.xdist_scheduling import write_worker_groups

        write_worker_groups(workerinput, grouped)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, in the controller: where each worker tells which of its tests use which sandbox
    (with one sandbox too: its tests must share the worker that brings it up)."""
    state = node.config.stash[_STATE]
    if state.grouped:
        from opsbook.verify.xdist_scheduling import WORKER_INPUT_KEY

        node.workerinput[WORKER_INPUT_KEY] = str(state.groups_folder())


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist, in the controller: each sandbox's tests (runbooks, and tests marked sandbox)
    run in one worker, which brings it up once; the other tests go to whichever worker is free."""
    state = config.stash[_STATE]
    if not state.grouped:
        return None  # xdist's own scheduling: this session asked for nothing
    from opsbook.verify.xdist_scheduling import make_scheduler

    return make_scheduler(config, log, state.groups_folder())


def sandbox_group(index: int) -> str:
    """The xdist group of the runbooks (and tests) that use sandbox `index`."""
    return f"opsbook-sandbox-{index}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is not None:
        state.finish()
        if state.sandboxes > 1 and not hasattr(session.config, "workerinput"):
            state.merge()  # the controller (or a run without xdist): one status.json for the site
        if state._groups_folder is not None:
            shutil.rmtree(state._groups_folder, ignore_errors=True)


class RunbookFile(pytest.File):
    """A runbook file; yields one item (a file that cannot be read is a collection error)."""

    def collect(self) -> Iterator[pytest.Item]:
        from opsbook.runbook.discover import id_root, load_runbook, project_root

        root = project_root(Path(self.config.invocation_params.dir))
        try:
            runbook = load_runbook(self.path, id_root(self.path, root))
        except RunbookFormatError as exc:
            raise RunbookCollectError(str(exc)) from exc
        yield RunbookItem.from_parent(self, name=runbook.id, runbook=runbook)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, RunbookCollectError):
            return f"cannot read the runbook, nothing ran:\n{excinfo.value}"
        return super().repr_failure(excinfo)


class RunbookCollectError(Exception):
    """The file in the report, with its file:line problems (and nothing of pytest's internals)."""


class RunbookFailed(Exception):
    def __init__(self, verification: RunbookVerification) -> None:
        super().__init__(verification.message)
        self.verification = verification


class RunbookItem(pytest.Item):
    """One runbook, verified with every one of its cases against the session sandbox."""

    def __init__(self, *, runbook: Runbook, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runbook = runbook
        self.add_marker(pytest.mark.sandbox)
        self.add_marker(pytest.mark.runbook)

    def runtest(self) -> None:
        state = self.config.stash[_STATE]
        verification = state.verify(self)
        self.add_report_section("call", "opsbook steps", steps_text(verification))
        for case in verification.cases:
            prefix = f"{case.case}:" if len(verification.cases) > 1 else ""
            for step in case.steps:
                self.user_properties.append((f"step:{prefix}{step.name}", step.status.value))
        if not verification.passed:
            raise RunbookFailed(verification)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, RunbookFailed):
            v = excinfo.value.verification
            return f"{v.runbook_id} ({v.path}) failed verification:\n{v.message}"
        if isinstance(excinfo.value, OpsbookError):
            return f"{self.runbook.id}: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"runbook {self.runbook.id}"


def steps_text(verification: RunbookVerification) -> str:
    """The steps of every case as a small plain-text table."""
    lines = []
    for case in verification.cases:
        verdict = "passed" if case.passed else "FAILED"
        lines.append(f"[{case.case}] {verdict}" + (f" (scenario {case.scenario})" if case.scenario else ""))
        for check in case.checks:
            if check.phase.value == "before":
                lines.append(f"  {'ok ' if check.passed else 'FAIL'} {check.name}")
        for step in case.steps:
            status = step.status.value
            lines.append(f"  {status:<11} {step.name:<32} {format_duration(step.duration):>10}"
                         + (f"  exit {step.exit_status}" if step.exit_status not in (None, 0) else ""))
        for check in case.checks:
            if check.phase.value == "after":
                lines.append(f"  {'ok ' if check.passed else 'FAIL'} {check.name}")
        if case.error:
            lines.append(f"  error: {case.error}")
    return "\n".join(lines)


class _LiveSteps:
    """With -v, one line per finished step on the terminal while the item runs."""

    def __init__(self, config: pytest.Config, runbook: Runbook, case: str) -> None:
        self.writer = config.pluginmanager.get_plugin("terminalreporter")
        self.capture = config.pluginmanager.get_plugin("capturemanager")
        self.label = runbook.id if len(runbook.verify) == 1 else f"{runbook.id} [{case}]"

    def on_event(self, event: Event) -> None:
        if isinstance(event, StepFinished) and self.writer is not None:
            r = event.result
            extra = f" — {r.reason}" if r.reason and r.status is not StepStatus.PASSED else ""
            line = f"    {self.label}: {r.name} {r.status.value} ({format_duration(r.duration)}){extra}"
            if self.capture is not None:  # the item's output is captured; this line is for the terminal
                with self.capture.global_and_fixture_disabled():
                    self.writer.write_line(line)
            else:
                self.writer.write_line(line)


class _PytestReporter:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def runbook_started(self, runbook: Runbook) -> None:
        pass

    def phase(self, runbook: Runbook, case: str, text: str) -> None:
        pass

    def listener(self, runbook: Runbook, case: str) -> _LiveSteps | None:
        return _LiveSteps(self.config, runbook, case) if self.config.get_verbosity() > 0 else None

    def runbook_finished(self, verification: RunbookVerification) -> None:
        pass


class _PluginState:
    """The pytest session's verification suite, made when the first runbook item runs."""

    def __init__(self, config: pytest.Config, shard: Any, sandboxes: int = 1, grouped: bool = False) -> None:
        self.config = config
        self.shard = shard
        self.sandboxes = sandboxes
        self.grouped = grouped  # --opsbook-sandboxes given: items carry their sandbox's group
        self.groups: dict[str, int] = {}  # runbook id → its sandbox (1-based), with several sandboxes
        self.assigned: tuple[str, ...] = ()  # this shard's runbooks, once collected
        self.suites: dict[int, VerifySuite] = {}
        self._groups_folder: Path | None = None

    def groups_folder(self) -> Path:
        """Made once, in the controller; removed with the rest of pytest's temporary files."""
        if self._groups_folder is None:
            import tempfile

            self._groups_folder = Path(tempfile.mkdtemp(prefix="opsbook-sandbox-groups-"))
        return self._groups_folder

    @property
    def suite(self) -> VerifySuite | None:
        """The suite of the first sandbox (the only one without --opsbook-sandboxes)."""
        return self.suites.get(1)

    def verify(self, item: RunbookItem) -> RunbookVerification:
        group = self.groups.get(item.runbook.id, 1)
        if group not in self.suites:
            self.suites[group] = self._suite(group)
        return self.suites[group].verify(item.runbook)

    def request(self, group: int | None = None) -> VerifyRequest:
        """The verification request of the session, or of one of its sandboxes."""
        from opsbook.runbook.discover import project_root
        from opsbook.verify.shard import Shard, sandbox_project
        from opsbook.verify.suite import VerifyRequest

        root = project_root(Path(self.config.invocation_params.dir))
        out = self.config.getoption("--opsbook-out")
        request = VerifyRequest(root=root, out=Path(out).resolve() if out else None, shard=self.shard,
                                project=self.config.getoption("--opsbook-project"),
                                keep_sandbox=self.config.getoption("--opsbook-keep-sandbox"),
                                alert_timeout=self.config.getoption("--opsbook-alert-timeout"))
        if group is None or self.sandboxes == 1:
            return request
        # Each sandbox is a shard of this session: its own project and results folder, merged at the end.
        part = Shard(group, self.sandboxes)
        base = sandbox_project(None, request.project)
        return replace(request, shard=part, project=base if group == 1 else f"{base}-{group}",
                       out=request.out_dir / f"shard-{group}-of-{self.sandboxes}")

    def merge(self) -> None:
        """The sandboxes' status files (and the last complete one) merged into the session's."""
        from opsbook.verify.status import load_status_document, merge_status, write_status

        whole = self.request()
        documents = [load_status_document(self.request(group).status_path) for group in range(1, self.sandboxes + 1)]
        if any(doc is not None for doc in documents):  # none: no runbook was verified
            found = [doc for doc in [load_status_document(whole.status_path), *documents] if doc is not None]
            write_status(whole.status_path, merge_status(found))

    def _suite(self, group: int = 1) -> VerifySuite:
        from opsbook.verify.suite import VerifySuite

        request = self.request(group)
        config = self.config
        assigned = self.assigned if self.sandboxes == 1 else tuple(
            sorted(rid for rid, index in self.groups.items() if index == group))

        def sandbox_factory(root: Path, project: str) -> Any:
            chosen = config.hook.pytest_opsbook_sandbox(config=config, root=root, project=project)
            if chosen is None:
                from opsbook.sandbox import Sandbox

                chosen = Sandbox(root, project)
            return chosen

        return VerifySuite(request, _PytestReporter(config), sandbox_factory, assigned=assigned)

    def finish(self) -> None:
        for suite in self.suites.values():
            suite.close()
