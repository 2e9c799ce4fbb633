"""Builders for drill tests: run records written with the project's own writer, at chosen times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from opsbook.record.writer import RecordWriter
from opsbook.run.events import Event, RunStatus
from opsbook.runbook.model import Runbook
from opsbook.sandbox.faults import Fault

if TYPE_CHECKING:
    from opsbook.drill.report import DrillReport
from tests.support.transcripts import RunBuilder, make_runbook

T0 = datetime(2026, 11, 26, 3, 12, 4, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    """T0 plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def app_runbook() -> Runbook:
    return make_runbook([("find-cause", "echo cause"), ("fix-cause", "start app"), ("confirm", "curl health")],
                        runbook_id="incidents/application-down", title="Application down")


def write_record(folder: Path, runbook: Runbook, events: list[Event]) -> Path:
    """`events` written through RecordWriter into `folder` (events.jsonl, transcript.md, executed.ipynb)."""
    with RecordWriter(folder, runbook) as writer:
        for event in events:
            writer.on_event(event)
    return folder


def person_run(start: datetime, *, target: str = "sandbox", operator: str = "alice",
               runbook: Runbook | None = None, lead: float = 1.0) -> tuple[Runbook, list[Event]]:
    """A whole passing run starting at `start`, its first step `lead` seconds later."""
    book = runbook or app_runbook()
    run = RunBuilder(book, start.isoformat()).start(operator=operator, target=target)
    run.wait(lead).step("find-cause", stdout="cause: app stopped\n", duration=1)
    run.step("fix-cause", stdout="started\n", duration=2)
    run.step("confirm", stdout="serving: 200\n", duration=1)
    run.finish(RunStatus.PASSED)
    return book, run.events


FAULT = Fault(name="app-down", summary="The app container is stopped.", symptom="curl fails",
              alerts=("ApplicationDown",), observe="true")


def sample_report(**changes: object) -> "DrillReport":
    """A drill of app-down that a person mitigated, with every field set."""
    from dataclasses import replace

    from opsbook.drill.report import Aftermath, AlertTimes, DrillReport, Outcome, RunRecord

    report = DrillReport(
        scenario="app-down", summary="The app container is stopped.", symptom="curl $APP_URL: refused",
        fault_alerts=("ApplicationDown",), picked_at_random=True, automatic=False, project="opsbook",
        started_at=stamp(at(-20)), injected_at=stamp(T0), ended_at=stamp(at(130)), timeout=1800.0,
        outcome=Outcome.MITIGATED,
        times={"detect": stamp(at(32)), "first_step": stamp(at(61)), "mitigate": stamp(at(117))},
        alerts=(AlertTimes("ApplicationDown", True, stamp(at(32)), stamp(at(121))),
                AlertTimes("HighErrorRate", False, None, stamp(at(10)))),
        records=(RunRecord(".opsbook/runs/20261126T031304Z-incidents-application-down", "incidents/application-down",
                           "alice", "sandbox", stamp(at(60)), stamp(at(61)), "passed"),),
        aftermath=Aftermath(healed=True, reset=False, healthy=True), poll_seconds=2.0)
    return replace(report, **changes)  # type: ignore[arg-type]
