"""`opsbook run` on the default sandbox target never starts the sandbox; it says how to."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from opsbook.sandbox.settings import SandboxSettings, env_file_path, port_base, write_settings
from tests.support.runbooks import HEADER

pytestmark = pytest.mark.kernel
ROOT = Path(__file__).resolve().parents[2]
PROJECT = "opsbook-never-started"


def run(runbook: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPSBOOK_ROOT": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", "from opsbook.cli.main import entry; entry()", "run", str(runbook),
                           "--yes", "--project", PROJECT, "--record-dir", str(runbook.parent / "rec"), *args],
                          env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture()
def runbook(tmp_path: Path) -> Path:
    path = tmp_path / "health.md"
    path.write_text(HEADER.format(title="Health", extra="") + '```bash name="health"\ncurl -fsS --max-time 2 "$APP_URL/api/health"\n```\n')
    return path


def test_a_runbook_that_needs_nothing_runs_on_a_sandbox_never_set_up(tmp_path: Path) -> None:
    assert not env_file_path(ROOT / "sandbox", PROJECT).exists()
    path = tmp_path / "local.md"
    path.write_text(HEADER.format(title="Local", extra="") + '```bash name="local"\necho "works: ${APP_URL:-no sandbox}"\n```\n')
    done = run(path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "works: no sandbox" in done.stdout
    assert "warning:" in done.stderr and "opsbook sandbox up" in done.stderr


def test_a_step_that_needs_a_sandbox_never_set_up_fails_naming_sandbox_up(runbook: Path) -> None:
    assert not env_file_path(ROOT / "sandbox", PROJECT).exists()
    done = run(runbook)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the sandbox target is not running or not healthy: start it with `opsbook sandbox up`" in done.stdout


def test_failing_step_on_a_stopped_sandbox_says_it_is_down(runbook: Path) -> None:
    env_file = env_file_path(ROOT / "sandbox", PROJECT)
    write_settings(env_file, SandboxSettings.generate(PROJECT, port_base(PROJECT)))
    try:
        done = run(runbook)
    finally:
        env_file.unlink()
    assert done.returncode == 1
    assert "the sandbox target is not running or not healthy: start it with `opsbook sandbox up`" in done.stdout
    if shutil.which("docker"):
        running = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True).stdout
        assert PROJECT not in running, "opsbook run must never start the sandbox"
