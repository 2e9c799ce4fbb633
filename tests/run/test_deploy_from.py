"""The real deploy runbook started in the middle: `--from rollback-if-unhealthy` without the
state of the steps before it refuses, naming what is missing and where it comes from; with that
state (given as params) it gets past the check. No sandbox is needed: the check comes first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]


def opsbook(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OPSBOOK, *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_from_rollback_without_the_deploys_state_refuses_and_says_where_it_comes_from() -> None:
    done = opsbook("run", "deployment/deploy", "--from", "rollback-if-unhealthy", "--yes",
                   "--param", "VERSION=1.1.0", "--project", "opsbook-no-such-sandbox")
    assert done.returncode == 2, done.stdout + done.stderr
    error = " ".join(done.stderr.split())
    assert "$PREVIOUS_VERSION, needed by step `rollback-if-unhealthy` (runbooks/deployment/deploy.md:" in error
    assert "set by step `pre-deploy-checks`" in error
    assert "$DEPLOY_HEALTHY" in error and "set by step `health-check`" in error
    assert "--state-from RECORD_DIR" in error
    assert "outcome:" not in done.stdout, "no step ran"


def test_from_rollback_with_every_needed_variable_given_passes_the_check(tmp_path: Path) -> None:
    given = {"MIGRATION_GATE": "passed", "DEPLOY_HEALTHY": "no", "PERF_OK": "yes", "LIVE_SLOT": "blue",
             "IDLE_SLOT": "green", "IDLE_SERVICE": "app-green", "IDLE_VERSION_VAR": "APP_GREEN_VERSION",
             "PREVIOUS_VERSION": "1.0.0", "DEPLOY_OUTCOME": "", "FAILED_ANSWERS_BEFORE": ""}
    params = [arg for name, value in given.items() for arg in ("--param", f"{name}={value}")]
    done = opsbook("run", "deployment/deploy", "--step", "rollback-if-unhealthy", "--yes",
                   "--param", "VERSION=1.1.0", *params, "--project", "opsbook-no-such-sandbox",
                   "--record-dir", str(tmp_path / "record"))
    error = " ".join(done.stderr.split())
    assert "needed by step" not in error, error
    # It ran the step (which fails here: there is no such sandbox), and recorded it.
    assert "rollback-if-unhealthy" in (tmp_path / "record" / "transcript.md").read_text()
