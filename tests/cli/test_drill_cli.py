"""`opsbook drill` and `opsbook postmortem` as a user runs them, without docker: what is refused and why,
exit statuses, what a drill picked at random does not print, and the draft on stdout or in a file."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from opsbook.cli.drill import TerminalDrillReporter
from opsbook.drill.session import DrillPlan, DrillState
from opsbook.drill.watch import Change, Milestone
from opsbook.sandbox.faults import Fault
from tests.drill.support import T0, person_run, sample_report, write_record
from tests.support import REPO, subprocess_env

OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]


def opsbook(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OPSBOOK, *args], cwd=cwd, env=subprocess_env(COLUMNS="200", **env), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_a_drill_on_any_other_target_is_refused() -> None:
    done = opsbook("drill", "app-down", "--target", "production")
    assert done.returncode == 2
    assert "drills run on the sandbox only, not on target 'production'" in done.stderr


def test_scenario_and_random_together_or_neither_are_usage_errors() -> None:
    both = opsbook("drill", "app-down", "--random")
    assert both.returncode == 2 and "give SCENARIO or --random, not both" in both.stderr
    neither = opsbook("drill")
    assert neither.returncode == 2 and "give a SCENARIO" in neither.stderr


def test_an_unknown_scenario_lists_the_faults() -> None:
    done = opsbook("drill", "moon-falls")
    assert done.returncode == 2
    assert "unknown scenario 'moon-falls'" in done.stderr
    assert "app-down" in done.stderr and "worker-stuck" in done.stderr


def _project_with_a_fault_no_case_injects(tmp_path: Path) -> Path:
    fault = tmp_path / "sandbox" / "faults" / "lonely"
    fault.mkdir(parents=True)
    (fault / "fault.yaml").write_text("name: lonely\nsummary: nobody answers it\nalerts: [Lonely]\n")
    for script in ("inject.sh", "heal.sh"):
        (fault / script).write_text("#!/bin/sh\n")
    (tmp_path / "runbooks").mkdir()
    return tmp_path


def test_auto_needs_a_runbook_case_for_the_fault(tmp_path: Path) -> None:
    root = _project_with_a_fault_no_case_injects(tmp_path)
    done = opsbook("drill", "lonely", "--auto", cwd=root, OPSBOOK_ROOT=str(root))
    assert done.returncode == 2
    assert "--auto runs the runbook case whose scenario is lonely, and no runbook case" in done.stderr
    random = opsbook("drill", "--random", cwd=root, OPSBOOK_ROOT=str(root))
    assert random.returncode == 2 and "nothing to pick from" in random.stderr


def test_a_sandbox_that_is_not_set_up_is_said_before_anything_happens(tmp_path: Path) -> None:
    root = _project_with_a_fault_no_case_injects(tmp_path)
    done = opsbook("drill", "lonely", "--project", "nowhere-1", cwd=root, OPSBOOK_ROOT=str(root))
    assert done.returncode == 1
    assert "sandbox nowhere-1 is not set up: start it with `opsbook sandbox up --project nowhere-1`" in done.stderr
    assert not (root / ".opsbook").exists()


def _reporter(picked_at_random: bool) -> tuple[TerminalDrillReporter, io.StringIO]:
    out = io.StringIO()
    fault = Fault("app-down", "The app container is stopped.", "refused", ("ApplicationDown",))
    plan = DrillPlan(root=REPO, fault=fault, project="opsbook", out=REPO / "unused", record_folders=(),
                     picked_at_random=picked_at_random)
    return TerminalDrillReporter(Console(file=out, width=200), plan), out


def _drive(reporter: TerminalDrillReporter) -> None:
    state = DrillState(elapsed=70.0, detected=32.0, first_step=None, mitigated=None,
                       fault_alerts_firing=("ApplicationDown",))
    reporter.injected(T0)
    for change, detail in ((Change.SYMPTOM, ""), (Change.ALERT_FIRED, "ApplicationDown"),
                           (Change.DETECTED, "ApplicationDown"), (Change.RUN_SEEN, "rec"),
                           (Change.ALERT_RESOLVED, "ApplicationDown"), (Change.MITIGATED, "")):
        reporter.milestone(Milestone(change, T0 + timedelta(seconds=32), detail), state)
    reporter.tick(state)


def test_a_drill_picked_at_random_prints_neither_the_fault_nor_its_alerts() -> None:
    reporter, out = _reporter(picked_at_random=True)
    _drive(reporter)
    text = out.getvalue()
    assert "a fault is injected; the clock runs" in text and "Ctrl-C stops it sooner" in text
    assert "detected: an alert of the fault fired" in text and "mitigated" in text
    assert "app-down" not in text and "ApplicationDown" not in text and "app container" not in text
    named, out = _reporter(picked_at_random=False)
    _drive(named)
    assert "app-down is injected" in out.getvalue() and "detected: ApplicationDown fired" in out.getvalue()


def test_postmortem_prints_the_draft_or_writes_it_and_never_replaces_a_file(tmp_path: Path) -> None:
    record = write_record(tmp_path / "rec", *person_run(T0))
    report = tmp_path / "report.json"
    from opsbook.drill.report import report_json

    report.write_text(json.dumps(report_json(sample_report())))
    done = opsbook("postmortem", str(record), "--drill", str(report))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Post-mortem: Drill app-down (2026-11-26, SEV<n>)")
    assert "| find-cause | passed |" in done.stdout
    out = tmp_path / "pm.md"
    written = opsbook("postmortem", str(record), "--out", str(out))
    assert written.returncode == 0 and written.stdout == "" and out.read_text().startswith("# Post-mortem: <title>")
    again = opsbook("postmortem", str(record), "--out", str(out))
    assert again.returncode == 2 and f"{out} exists" in again.stderr


def test_postmortem_errors_name_the_file_and_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "not-a-record").mkdir()
    done = opsbook("postmortem", str(tmp_path / "not-a-record"))
    assert done.returncode == 2
    assert f"{tmp_path / 'not-a-record'}: not an opsbook run record (no events.jsonl)" in done.stderr
    record = write_record(tmp_path / "rec", *person_run(T0))
    (tmp_path / "bad.json").write_text("{")
    bad = opsbook("postmortem", str(record), "--drill", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and f"{tmp_path / 'bad.json'}: not JSON" in bad.stderr
    nothing = opsbook("postmortem")
    assert nothing.returncode == 2 and "give the RECORD_DIR" in nothing.stderr
