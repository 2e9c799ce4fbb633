"""The deploy and rollback runbooks, run for real on a target that is not the sandbox.

A second compose project of sandbox/compose.yaml (`opsbook-staging`, images shared with the
session's sandbox) is declared as target `staging` exactly as the repository ships it: a
temporary project holds a copy of opsbook.toml and of .env.staging.example, a `.env.staging`
written by `opsbook sandbox env --project opsbook-staging`, and links to runbooks/ and
scripts/ (the steps call scripts/...). OPSBOOK_ROOT points there: nothing is written into the
repository but the compose project's own env file (sandbox/.env.opsbook-staging, git-ignored).

What staging's policies look like to the person deploying: no terminal, nothing runs; the
target's name typed before the first step, and again before each destructive step, --yes
or not; a wrong name refuses the step; every secret of .env.staging masked in what the
terminal showed and in every file of every record.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
import urllib.request
from pathlib import Path
from typing import Iterator

import pexpect
import pytest

from opsbook.run.targets import read_env_file
from opsbook.runbook.discover import load_runbook
from opsbook.sandbox import Sandbox
from tests.support.project import events, finished
from tests.support.runbooks import HEADER
from tests.support.secrets import TerminalLog, assert_nowhere

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parents[2]
OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]
PROJECT = "opsbook-staging"
DEPLOY = "runbooks/deployment/deploy.md"
EMERGENCY_ROLLBACK = "runbooks/deployment/emergency-rollback.md"
OLD, NEW = "1.0.0", "1.1.0"
# Short windows, as the runbook's own verification cases use; a deploy window that is open. The
# latency gate wide open: this module tests the target, not the gate (the runbook's verification
# does, on the sandbox), and on a CI host busy with two sandboxes the p95 of two 8 s windows of
# the same release differs by more than 1.5x (and 100 ms).
FAST = ("--param", "WARMUP_SECONDS=3", "--param", "PERF_WINDOW=8", "--param", "DEPLOY_TIME=2026-12-02T10:00Z",
        "--param", "MAX_P95_RATIO=100")
PROMPT = r"Type the target name \(staging\) to go on:"


class Staging:
    """The staging project and the temporary opsbook project that declares it."""

    def __init__(self, box: Sandbox, root: Path) -> None:
        self.box = box
        self.root = root
        self.env = read_env_file(root / ".env.staging")
        self.terminal: list[str] = []  # what every run showed, for the secrets check
        self.records: list[Path] = []

    def version(self) -> str:
        return app_version(self.env["APP_URL"])

    def record(self, name: str) -> Path:
        path = self.root / "records" / name
        self.records.append(path)
        return path

    def process_env(self) -> dict[str, str]:
        # The caller's shell must not lend the run a sandbox project or a COMPOSE_* of its own.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE", "OPSBOOK_SANDBOX"))}
        return {**env, "OPSBOOK_ROOT": str(self.root), "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`opsbook run` without a terminal (stdin is /dev/null)."""
        done = subprocess.run([*OPSBOOK, "run", *args], cwd=self.root, env=self.process_env(), capture_output=True,
                              text=True, timeout=600, stdin=subprocess.DEVNULL)
        self.terminal += [done.stdout, done.stderr]
        return done

    def spawn(self, *args: str) -> pexpect.spawn:
        """`opsbook run` at a terminal (a pty)."""
        child = pexpect.spawn(OPSBOOK[0], [*OPSBOOK[1:], "run", *args], cwd=str(self.root), env=self.process_env(),
                              encoding="utf-8", timeout=300, dimensions=(50, 200))
        child.logfile_read = TerminalLog(self.terminal)
        return child


def app_version(url: str) -> str:
    with urllib.request.urlopen(f"{url}/api/health", timeout=10) as answer:
        return str(json.load(answer)["version"])


@pytest.fixture(scope="module")
def staging(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staging]:
    """`opsbook-staging` up (the session's sandbox built the images), declared as target staging."""
    box = Sandbox(ROOT, PROJECT)
    try:
        box.up(timeout=600, progress=False)
        root = tmp_path_factory.mktemp("staging-project")
        shutil.copy(ROOT / "opsbook.toml", root / "opsbook.toml")
        shutil.copy(ROOT / ".env.staging.example", root / ".env.staging.example")
        for folder in ("runbooks", "scripts"):
            (root / folder).symlink_to(ROOT / folder)
        made = subprocess.run([*OPSBOOK, "sandbox", "env", "--project", PROJECT], cwd=ROOT, capture_output=True,
                              text=True, timeout=60, check=True, env={**os.environ, "COLUMNS": "200"})
        (root / ".env.staging").touch(mode=0o600)  # it holds credentials, as a real one does
        (root / ".env.staging").write_text(made.stdout)
        yield Staging(box, root)
    finally:
        if os.environ.get("OPSBOOK_KEEP_SANDBOX") != "1":
            box.down()


def test_staging_is_a_project_of_its_own(staging: Staging, sandbox: Sandbox) -> None:
    assert staging.env["COMPOSE_PROJECT_NAME"] == PROJECT
    assert staging.env["APP_URL"] != sandbox.env()["APP_URL"]
    assert staging.env["APP_URL"].startswith("http://127.0.0.1:")
    for state in staging.box.status():
        assert all(p.startswith("127.0.0.1:") for p in state.ports), f"{state.service} publishes {state.ports}"
    assert staging.version() == OLD


def test_without_a_terminal_a_deploy_on_staging_fails_closed(staging: Staging) -> None:
    rec = staging.record("no-terminal")
    asked = staging.run(DEPLOY, "--target", "staging", "--param", f"VERSION={NEW}", *FAST, "--record-dir", str(rec))
    assert asked.returncode == 2 and "no terminal to ask on" in asked.stderr
    # --yes answers "run this step?", never "which target?": still nothing runs.
    yes = staging.run(DEPLOY, "--target", "staging", "--yes", "--param", f"VERSION={NEW}", *FAST,
                      "--record-dir", str(rec))
    assert yes.returncode == 2
    assert "target staging asks for confirmation and there is no terminal to give it" in yes.stderr
    assert "warning:" not in yes.stderr, "the generated .env.staging holds every variable the example lists"
    assert not (rec / "events.jsonl").exists() or not [e for e in events(rec) if e["event"] == "step_started"]
    assert staging.version() == OLD


def test_a_wrong_name_refuses_the_first_destructive_step_even_with_yes(staging: Staging) -> None:
    rec = staging.record("wrong-name")
    child = staging.spawn(DEPLOY, "--target", "staging", "--yes", "--param", f"VERSION={NEW}", *FAST,
                          "--param", f"BACKUP_DIR={staging.root / 'backups'}", "--record-dir", str(rec))
    child.expect("Target staging asks for confirmation")
    child.expect(PROMPT)
    child.sendline("staging")
    child.expect(r"Step \S+ is destructive")
    child.expect(PROMPT)
    child.sendline("production")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    results = finished(rec)
    refused = [name for name, r in results.items() if "the target name was not typed" in r["reason"]]
    assert refused == ["run-migrations"], results
    assert results["pre-deploy-checks"]["status"] == "passed"
    assert {r["status"] for name, r in results.items() if name in ("start-idle-slot", "switch-traffic")} == {"not_run"}
    assert staging.version() == OLD


def answer_prompts(child: pexpect.spawn) -> list[str]:
    """Type `staging` at every target-name prompt and run every step; the prompts asked, in order."""
    asked = []
    while True:
        which = child.expect([r"Target staging asks for confirmation", r"Step (\S+) is destructive",
                              r"Run this step\?", r"retry/skip/quit", pexpect.EOF])
        if which == 4:
            break
        if which in (2, 3):
            child.sendline("r" if which == 2 else "q")  # a failed step: quit (the test then fails)
            continue
        asked.append("target" if which == 0 else child.match.group(1))
        child.expect(PROMPT)
        child.sendline("staging")
    child.close()
    return asked


def test_deploy_on_staging_changes_staging_only(staging: Staging, sandbox: Sandbox) -> None:
    main_before = app_version(sandbox.env()["APP_URL"])
    rec = staging.record("deploy")
    child = staging.spawn(DEPLOY, "--target", "staging", "--yes", "--param", f"VERSION={NEW}", *FAST,
                          "--param", f"BACKUP_DIR={staging.root / 'backups'}", "--param", "EXPECT_OUTCOME=deployed",
                          "--record-dir", str(rec))
    asked = answer_prompts(child)
    assert child.exitstatus == 0, (rec / "transcript.md").read_text()
    destructive = [s.name for s in load_runbook(ROOT / DEPLOY).steps if s.options.destructive]
    assert asked == ["target", *destructive], "--yes must not answer a destructive step's confirmation"
    assert staging.version() == NEW
    assert app_version(sandbox.env()["APP_URL"]) == main_before, "the deploy on staging reached the sandbox"


def test_rollback_on_staging(staging: Staging) -> None:
    """The emergency rollback runbook when it exists, else deploy.md back to the old version;
    at the terminal without --yes: every step asked, the destructive ones by name."""
    if staging.version() != NEW:
        pytest.skip("the deploy before it did not leave staging on the new version")
    rec = staging.record("rollback")
    if (ROOT / EMERGENCY_ROLLBACK).is_file():
        book = load_runbook(ROOT / EMERGENCY_ROLLBACK)
        # The release to go back to (TO_VERSION): said, not left to the standby slot's.
        params = [arg for p in book.params if "VERSION" in p.name for arg in ("--param", f"{p.name}={OLD}")]
        args = [EMERGENCY_ROLLBACK, *params]
    else:
        book = load_runbook(ROOT / DEPLOY)
        args = [DEPLOY, "--param", f"VERSION={OLD}", *FAST, "--param", f"BACKUP_DIR={staging.root / 'backups'}",
                "--param", "EXPECT_OUTCOME=deployed"]
    child = staging.spawn(*args, "--target", "staging", "--record-dir", str(rec))
    asked = answer_prompts(child)
    assert child.exitstatus == 0, (rec / "transcript.md").read_text()
    assert asked[0] == "target" and set(asked[1:]) <= {s.name for s in book.steps if s.options.destructive}
    assert staging.version() == OLD


LEAKS = HEADER.format(title="Print the staging credentials", extra="") + textwrap.dedent('''
    ```bash name="leaks"
    psql "$DATABASE_URL" -Atc "select 'connected as ' || current_user"
    echo "DATABASE_URL=$DATABASE_URL"
    printf '%s' "$APP_DB_PASSWORD" | base64
    env | grep -E '^(REDIS_URL|APP_API_TOKEN|DATABASE_ADMIN_URL)=' | sort
    ```
''')


def test_no_secret_of_the_env_file_in_any_record_or_on_the_terminal(staging: Staging) -> None:
    """A step that prints the credentials, then every record the runs of this module wrote
    (this test comes last) and everything their terminals showed."""
    (staging.root / "leaks.md").write_text(LEAKS)
    rec = staging.record("leaks")
    child = staging.spawn("leaks.md", "--target", "staging", "--yes", "--record-dir", str(rec))
    assert answer_prompts(child) == ["target"]
    assert child.exitstatus == 0, (rec / "transcript.md").read_text()
    transcript = (rec / "transcript.md").read_text()
    assert "connected as opsbook" in transcript and "DATABASE_URL=***" in transcript

    declared = set(tomllib.loads((ROOT / "opsbook.toml").read_text())["targets"]["staging"]["secrets"])
    secrets = {k: v for k, v in staging.env.items() if k in declared}
    assert {"DATABASE_URL", "APP_DB_PASSWORD", "REDIS_PASSWORD", "APP_API_TOKEN"} <= set(secrets)
    assert staging.env["APP_DB_PASSWORD"] in staging.env["DATABASE_URL"]
    files = [p for record in staging.records if record.is_dir() for p in record.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"transcript.md", "events.jsonl", "executed.ipynb"}
    texts = {str(p): p.read_text(errors="replace") for p in files}
    texts["the terminal"] = "".join(staging.terminal)
    assert_nowhere(secrets, texts)

