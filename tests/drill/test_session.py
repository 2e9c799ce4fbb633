"""A whole drill against a stand-in sandbox (files for faults and alerts): times, heal, report, Ctrl-C."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from opsbook.drill.report import JSON_FILE, MARKDOWN_FILE, Outcome, load_report
from opsbook.drill.scenarios import case_for, library_cases
from opsbook.drill.session import Drill, DrillPlan, DrillState, QuietDrillReporter
from opsbook.runbook.discover import find_runbooks
from tests.drill.support import FAULT, person_run, write_record
from tests.support.file_sandbox import FileSandbox
from tests.support.runbooks import write_runbook


def _sandbox(tmp_path: Path) -> FileSandbox:
    return FileSandbox(tmp_path / "state", {"app-down": {"ApplicationDown"}})


def _plan(tmp_path: Path, **kwargs: object) -> DrillPlan:
    options: dict[str, object] = {"timeout": 20.0, "poll_seconds": 0.05, "settle_timeout": 1.0}
    options.update(kwargs)
    return DrillPlan(root=tmp_path, fault=FAULT, project="opsbook-test", out=tmp_path / "drill",
                     record_folders=(tmp_path / "runs",), **options)  # type: ignore[arg-type]


class Responder(QuietDrillReporter):
    """A person in another terminal: once the fault is in, starts a runbook and fixes the fault."""

    def __init__(self, box: FileSandbox, runs: Path) -> None:
        self.box, self.runs = box, runs
        self.thread: threading.Thread | None = None

    def injected(self, at: datetime) -> None:
        def respond() -> None:
            time.sleep(0.3)
            write_record(self.runs / "20261126T031210Z-incidents-application-down",
                         *person_run(datetime.now(timezone.utc), operator="alice", lead=0.0))
            time.sleep(0.2)
            for name in ("fault-app-down", "alert-ApplicationDown"):
                (self.box.state / name).unlink()

        self.thread = threading.Thread(target=respond)
        self.thread.start()


def test_a_person_responding_gives_all_three_times_and_the_report_says_so(tmp_path: Path) -> None:
    box = _sandbox(tmp_path)
    responder = Responder(box, tmp_path / "runs")
    report = Drill(box, _plan(tmp_path), responder).run()
    assert responder.thread is not None
    responder.thread.join()
    assert report.outcome is Outcome.MITIGATED
    detect, first, mitigate = (report.seconds(m) for m in ("detect", "first_step", "mitigate"))
    assert detect is not None and first is not None and mitigate is not None
    assert detect < 0.3 <= first < mitigate  # the alert fired at once; the person came, then fixed it
    assert [(a.name, a.fault_alert, a.resolved_at is not None) for a in report.alerts] == \
        [("ApplicationDown", True, True)]
    assert [(r.runbook, r.operator, r.status) for r in report.records] == \
        [("incidents/application-down", "alice", "passed")]
    assert box.calls == ["reset", "inject app-down", "heal app-down"]
    assert report.aftermath is not None and report.aftermath.healthy and not report.aftermath.reset
    assert load_report(tmp_path / "drill" / JSON_FILE) == report
    markdown = (tmp_path / "drill" / MARKDOWN_FILE).read_text()
    assert "**mitigated**" in markdown and "not reached" not in markdown


def test_not_mitigated_in_time_heals_and_the_report_says_not_reached(tmp_path: Path) -> None:
    box = _sandbox(tmp_path)
    report = Drill(box, _plan(tmp_path, timeout=1.0)).run()
    assert report.outcome is Outcome.NOT_MITIGATED
    assert report.seconds("detect") is not None
    assert report.times["first_step"] is None and report.times["mitigate"] is None
    assert box.calls[-1] == "heal app-down" and box.healthy()
    data = json.loads((tmp_path / "drill" / JSON_FILE).read_text())
    assert data["outcome"] == "not_mitigated" and data["times"]["mitigate"] == {"at": None, "seconds": None}
    markdown = (tmp_path / "drill" / MARKDOWN_FILE).read_text()
    assert "| Time to mitigate | not reached |" in markdown
    assert "not mitigated in time" in markdown


class CtrlC(QuietDrillReporter):
    def tick(self, state: DrillState) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_while_waiting_heals_and_writes_a_report_marked_interrupted(tmp_path: Path) -> None:
    box = _sandbox(tmp_path)
    report = Drill(box, _plan(tmp_path), CtrlC()).run()
    assert report.outcome is Outcome.INTERRUPTED
    assert box.calls == ["reset", "inject app-down", "heal app-down"] and box.healthy()
    assert load_report(tmp_path / "drill").outcome is Outcome.INTERRUPTED
    assert "interrupted (Ctrl-C)" in (tmp_path / "drill" / MARKDOWN_FILE).read_text()


class StaysBroken(FileSandbox):
    """Knows no fault, so inject fails; its first reset leaves a broken service behind."""

    def reset(self) -> None:
        super().reset()
        if self.calls.count("reset") == 1:
            (self.state / "fault-other").touch()


def test_a_fault_that_cannot_be_injected_ends_the_drill_with_an_error_and_a_clean_sandbox(tmp_path: Path) -> None:
    box = StaysBroken(tmp_path / "state", {})
    report = Drill(box, _plan(tmp_path)).run()
    assert report.outcome is Outcome.ERROR and "unknown fault app-down" in report.error
    assert report.injected_at is None
    assert box.calls == ["reset", "inject app-down", "heal app-down", "reset"]  # not healthy after healing
    assert report.aftermath is not None and report.aftermath.reset and report.aftermath.healthy
    assert load_report(tmp_path / "drill").outcome is Outcome.ERROR


RUNBOOK = """
# App down

```bash name="find-cause" role="diagnose"
test -e "$SANDBOX_STATE/fault-app-down" && echo "cause: app stopped"
```

```bash name="fix-cause" role="remediate"
rm -f "$SANDBOX_STATE/fault-app-down" "$SANDBOX_STATE/alert-ApplicationDown"
echo started
```
"""


@pytest.mark.kernel
def test_auto_runs_the_matching_case_once_the_alert_fires_and_is_timed(tmp_path: Path) -> None:
    write_runbook(tmp_path, "incidents/app", """
        alerts: [ApplicationDown]
        timeout: 30
        verify:
          - case: stopped
            scenario: app-down
    """, RUNBOOK, title="App down")
    case = case_for(library_cases(find_runbooks(tmp_path / "runbooks").runbooks), "app-down")
    assert case is not None
    box = _sandbox(tmp_path)
    report = Drill(box, _plan(tmp_path, auto=case, timeout=60.0)).run()
    assert report.outcome is Outcome.MITIGATED, report
    assert report.automatic and report.auto is not None
    assert (report.auto.runbook, report.auto.case, report.auto.status) == ("incidents/app", "stopped", "passed")
    assert report.auto.record == "drill/record"
    assert [(r.path, r.operator, r.status) for r in report.records] == \
        [("drill/record", "opsbook drill --auto", "passed")]
    detect, first, mitigate = (report.seconds(m) for m in ("detect", "first_step", "mitigate"))
    assert detect is not None and first is not None and mitigate is not None and detect <= first <= mitigate
    assert (tmp_path / "drill" / "record" / "transcript.md").is_file()
