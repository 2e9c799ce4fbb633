"""`opsbook drill` and `opsbook postmortem` against the session sandbox, as a user runs them.

One automatic drill of app-down, the cheapest fault to break and heal (the incident library
verifies the same fault with incidents/application-down: this proves the drill's timing, not the
runbook), then the post-mortem of the record it made, then a drill stopped by Ctrl-C while it waits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from opsbook.sandbox import Sandbox

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parents[2]
OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]
SCENARIO = "app-down"


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def auto_drill(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str],
                                                                                       Path]:
    out = tmp_path_factory.mktemp("drill") / "report"
    done = subprocess.run([*OPSBOOK, "drill", SCENARIO, "--auto", "--project", sandbox.project, "--out", str(out),
                           "--timeout", "240"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    return done, out


def _report(out: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    return report


def test_an_automatic_drill_measures_detection_first_step_and_mitigation(
        auto_drill: tuple[subprocess.CompletedProcess[str], Path], sandbox: Sandbox) -> None:
    done, out = auto_drill
    assert done.returncode == 0, done.stdout + done.stderr
    report = _report(out)
    assert (report["scenario"], report["outcome"], report["automatic"]) == (SCENARIO, "mitigated", True)
    seconds = {measure: report["times"][measure]["seconds"] for measure in ("detect", "first_step", "mitigate")}
    assert all(s is not None for s in seconds.values()), seconds
    assert 0 < seconds["detect"] <= seconds["first_step"] <= seconds["mitigate"], seconds
    alert = next(a for a in report["alerts"] if a["name"] == "ApplicationDown")
    assert alert["fault_alert"] and alert["fired_at"] and alert["resolved_at"]
    assert report["auto"]["runbook"] == "incidents/application-down" and report["auto"]["status"] == "passed"
    assert any(r["operator"] == "opsbook drill --auto" and r["status"] == "passed" for r in report["records"])
    assert report["aftermath"]["healthy"] and sandbox.healthy() and sandbox.active_faults() == []
    markdown = (out / "report.md").read_text()
    assert "**mitigated**" in markdown and "not reached" not in markdown
    assert f"report: {out / 'report.md'}" in done.stdout and "time to mitigate" in done.stdout


def test_postmortem_of_the_drill_has_the_timeline_and_the_times(
        auto_drill: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = auto_drill
    done = subprocess.run([*OPSBOOK, "postmortem", str(out / "record"), "--drill", str(out / "report.json")],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    draft = done.stdout
    assert draft.startswith(f"# Post-mortem: Drill {SCENARIO} (")
    assert "| fault injected |" in draft and "| alert fired |  |  | ApplicationDown |" in draft
    assert "| step | opsbook drill --auto | incidents/application-down | find-cause | passed |" in draft
    assert "| mitigated |" in draft
    detect = _report(out)["times"]["detect"]["seconds"]
    assert "- Time to detect (first symptom to alert or report): " in draft and "not reached" not in draft
    assert detect is not None


def test_ctrl_c_while_waiting_heals_and_writes_a_report_marked_interrupted(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "report"
    drill = subprocess.Popen([*OPSBOOK, "drill", SCENARIO, "--project", sandbox.project, "--out", str(out)], cwd=ROOT,
                             env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             stdin=subprocess.DEVNULL)
    assert drill.stdout is not None
    seen = []
    deadline = time.monotonic() + 120
    for line in drill.stdout:
        seen.append(line)
        if "the clock runs" in line or time.monotonic() > deadline:
            break
    assert any("the clock runs" in line for line in seen), "".join(seen)
    time.sleep(3)  # it waits, watching the sandbox
    drill.send_signal(signal.SIGINT)
    rest, _ = drill.communicate(timeout=180)
    assert drill.returncode == 130, "".join(seen) + rest
    report = _report(out)
    assert report["outcome"] == "interrupted" and report["injected_at"]
    assert report["aftermath"]["healed"] and report["aftermath"]["healthy"]
    assert "interrupted (Ctrl-C)" in (out / "report.md").read_text()
    assert sandbox.healthy() and not sandbox.observe(SCENARIO) and sandbox.active_faults() == []
