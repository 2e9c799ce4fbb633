"""`opsbook lint`, `list`, `search` and `show` as a user runs them: real processes, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runbook.test_parse import GOOD

OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]


def opsbook(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "OPSBOOK_ROOT": str(cwd)}
    return subprocess.run([*OPSBOOK, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    incidents = tmp_path / "runbooks" / "incidents"
    incidents.mkdir(parents=True)
    (incidents / "worker.md").write_text(GOOD)
    return tmp_path


def test_lint_clean_exits_0(project: Path) -> None:
    done = opsbook("lint", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "1 file(s) checked, 0 with problems" in done.stdout


def test_lint_reports_every_problem_with_path_line_and_hint(project: Path) -> None:
    bad = project / "runbooks" / "incidents" / "bad.md"
    bad.write_text(GOOD.replace("  owner: platform", "  owner: no").replace('name="restart-worker"', "name=restart"))
    done = opsbook("lint", str(bad), cwd=project)
    assert done.returncode == 2
    assert f"{bad}:11: `no` is read as a boolean by YAML 1.1" in done.stderr
    assert f"{bad}:36: cannot read step options `name=restart`" in done.stderr
    assert "hint: options are key=value with JSON values" in done.stderr


def test_run_refuses_a_malformed_runbook_before_running_anything(project: Path) -> None:
    bad = project / "runbooks" / "incidents" / "bad.md"
    bad.write_text(GOOD.replace("  format: 1", "  format: 7"))
    done = opsbook("run", "incidents/bad", "--yes", cwd=project)
    assert done.returncode == 2
    assert "runbook format 7 is newer than this opsbook reads" in done.stderr
    assert not (project / ".opsbook").exists(), "nothing ran, so no record"


def test_list_and_search_find_runbooks_by_alert_and_command(project: Path) -> None:
    listed = opsbook("list", "--alert", "WorkerQueueBackedUp", cwd=project)
    assert listed.returncode == 0 and "incidents/worker" in listed.stdout and "SEV2" in listed.stdout
    found = opsbook("search", "llen", cwd=project)
    assert found.returncode == 0 and "incidents/worker" in found.stdout and "queue-depth" in found.stdout
    missing = opsbook("search", "no-such-words-anywhere", cwd=project)
    assert missing.returncode == 1 and "no runbook mentions" in missing.stdout


def test_show_prints_prose_steps_and_how_to_run(project: Path) -> None:
    done = opsbook("show", "incidents/worker", cwd=project)
    assert done.returncode == 0
    for expected in ("Worker queue backed up", "Step 2/2 · restart-worker", "[destructive]", "opsbook run incidents/worker"):
        assert expected in done.stdout
    assert "jupyter:" not in done.stdout, "the raw header never shows"


def test_unknown_runbook_suggests_list(project: Path) -> None:
    done = opsbook("show", "nope", cwd=project)
    assert done.returncode == 2 and "no runbook `nope`" in done.stderr
