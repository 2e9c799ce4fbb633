"""The drill report: what was injected, the three times, the alerts and the runs; as JSON and Markdown.

JSON (`report.json`, schema `opsbook-drill/1`) is what `opsbook postmortem --drill` reads back;
Markdown (`report.md`) is for people. Both are pure functions of a `DrillReport`; `load_report`
reads a file back and says which file and what is wrong with it when it cannot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from opsbook.errors import OpsbookError
from opsbook.record.markdown import literal
from opsbook.text import format_duration, format_time, parse_time, write_atomically

SCHEMA = "opsbook-drill/1"
JSON_FILE = "report.json"
MARKDOWN_FILE = "report.md"

NOT_REACHED = "not reached"


class DrillReportError(OpsbookError):
    """A drill report file cannot be used (missing, not JSON, another schema, a bad field)."""


class Outcome(str, Enum):
    MITIGATED = "mitigated"
    NOT_MITIGATED = "not_mitigated"  # --timeout passed first
    INTERRUPTED = "interrupted"  # Ctrl-C
    ERROR = "error"  # the drill could not go on (the sandbox failed under it)


OUTCOME_TEXT = {
    Outcome.MITIGATED: "mitigated",
    Outcome.NOT_MITIGATED: "not mitigated in time",
    Outcome.INTERRUPTED: "interrupted (Ctrl-C)",
    Outcome.ERROR: "stopped by an error",
}

MEASURES = (
    ("detect", "Time to detect", "the first of the fault's alerts firing in Prometheus"),
    ("first_step", "Time to the first runbook step",
     "the first step started by an `opsbook run` on the sandbox target after the injection"),
    ("mitigate", "Time to mitigate",
     "the fault's symptom gone, the sandbox healthy and the fault's alerts resolved"),
)


@dataclass(frozen=True)
class AlertTimes:
    name: str
    fault_alert: bool
    fired_at: str | None  # None: already firing when the fault was injected
    resolved_at: str | None  # None: still firing when the drill ended


@dataclass(frozen=True)
class RunRecord:
    """An `opsbook run` record the drill counted."""

    path: str
    runbook: str
    operator: str
    target: str
    started_at: str
    first_step_at: str | None
    status: str


@dataclass(frozen=True)
class AutoRun:
    """What `--auto` ran in place of a person."""

    runbook: str
    case: str
    status: str  # the run's status, or "not started" when the fault never showed in time
    record: str | None


@dataclass(frozen=True)
class Aftermath:
    """How the drill left the sandbox."""

    healed: bool  # the fault's heal script ran without error
    reset: bool  # the sandbox was not healthy after healing and was reset
    healthy: bool  # healthy when the drill ended
    message: str = ""  # what went wrong while healing, for the person to finish by hand


@dataclass(frozen=True)
class DrillReport:
    scenario: str
    summary: str
    symptom: str
    fault_alerts: tuple[str, ...]
    picked_at_random: bool
    automatic: bool
    project: str
    started_at: str  # the drill started (the reset began)
    injected_at: str | None  # the clock started: the fault was in; None if it never got in
    ended_at: str
    timeout: float
    outcome: Outcome
    times: Mapping[str, str | None]  # measure → UTC ISO 8601 moment, None: not reached
    alerts: tuple[AlertTimes, ...] = ()
    records: tuple[RunRecord, ...] = ()
    auto: AutoRun | None = None
    aftermath: Aftermath | None = None
    error: str = ""
    poll_seconds: float = 2.0
    notes: tuple[str, ...] = field(default=())

    def seconds(self, measure: str) -> float | None:
        """Seconds from the injection to `measure` (detect, first_step, mitigate); None: not reached."""
        moment = self.times.get(measure)
        if moment is None or self.injected_at is None:
            return None
        return max(0.0, (parse_time(moment) - parse_time(self.injected_at)).total_seconds())

    def since_injection(self, moment: str | None) -> float | None:
        if moment is None or self.injected_at is None:
            return None
        return (parse_time(moment) - parse_time(self.injected_at)).total_seconds()


# --- JSON -------------------------------------------------------------------------------------


def report_json(report: DrillReport) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "scenario": report.scenario,
        "summary": report.summary,
        "symptom": report.symptom,
        "fault_alerts": list(report.fault_alerts),
        "picked_at_random": report.picked_at_random,
        "automatic": report.automatic,
        "project": report.project,
        "started_at": report.started_at,
        "injected_at": report.injected_at,
        "ended_at": report.ended_at,
        "timeout_seconds": report.timeout,
        "poll_seconds": report.poll_seconds,
        "outcome": report.outcome.value,
        "error": report.error,
        "times": {measure: {"at": report.times.get(measure), "seconds": report.seconds(measure)}
                  for measure, _, _ in MEASURES},
        "alerts": [{"name": a.name, "fault_alert": a.fault_alert, "fired_at": a.fired_at,
                    "resolved_at": a.resolved_at} for a in report.alerts],
        "records": [{"path": r.path, "runbook": r.runbook, "operator": r.operator, "target": r.target,
                     "started_at": r.started_at, "first_step_at": r.first_step_at, "status": r.status}
                    for r in report.records],
        "auto": None if report.auto is None else {"runbook": report.auto.runbook, "case": report.auto.case,
                                                  "status": report.auto.status, "record": report.auto.record},
        "aftermath": None if report.aftermath is None else {
            "healed": report.aftermath.healed, "reset": report.aftermath.reset,
            "healthy": report.aftermath.healthy, "message": report.aftermath.message},
        "notes": list(report.notes),
    }


class _Fields:
    """Typed access to one JSON object of the report, naming the file and field when one is wrong."""

    def __init__(self, path: Path, data: Any, where: str = "") -> None:
        if not isinstance(data, dict):
            raise DrillReportError(f"{path}: {where or 'the report'} is not a JSON object")
        self.path, self.data, self.where = path, data, where

    def _bad(self, key: str, wanted: str) -> DrillReportError:
        name = f"{self.where}.{key}" if self.where else key
        return DrillReportError(f"{self.path}: field {name!r} must be {wanted}, not {self.data.get(key)!r}")

    def text(self, key: str, *, optional: bool = False) -> Any:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise self._bad(key, "a string" + (" or null" if optional else ""))
        return value

    def time(self, key: str, *, optional: bool = False) -> Any:
        value = self.text(key, optional=optional)
        if value is not None:
            try:
                parse_time(value)
            except ValueError:
                raise self._bad(key, "a UTC time (ISO 8601)") from None
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def number(self, key: str) -> float:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._bad(key, "a number")
        return float(value)

    def items(self, key: str) -> list[Any]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise self._bad(key, "a list")
        return value

    def child(self, key: str, index: int | None = None) -> _Fields:
        value = self.data.get(key) if index is None else self.items(key)[index]
        where = f"{self.where + '.' if self.where else ''}{key}" + (f"[{index}]" if index is not None else "")
        return _Fields(self.path, value, where)


def report_from_json(data: Any, path: Path = Path(JSON_FILE)) -> DrillReport:
    """The report stored as `data`; DrillReportError naming `path` and the field when it is not one."""
    top = _Fields(path, data)
    if data.get("schema") != SCHEMA:
        raise DrillReportError(f"{path}: not an opsbook drill report (schema {data.get('schema')!r}, "
                               f"expected {SCHEMA!r}); give the report.json that `opsbook drill` wrote")
    try:
        outcome = Outcome(data.get("outcome"))
    except ValueError:
        raise top._bad("outcome", "one of " + ", ".join(o.value for o in Outcome)) from None
    times_data = top.child("times")
    times = {measure: times_data.child(measure).time("at", optional=True) for measure, _, _ in MEASURES}
    alerts = []
    for i in range(len(top.items("alerts"))):
        a = top.child("alerts", i)
        alerts.append(AlertTimes(a.text("name"), a.flag("fault_alert"), a.time("fired_at", optional=True),
                                 a.time("resolved_at", optional=True)))
    records = []
    for i in range(len(top.items("records"))):
        r = top.child("records", i)
        records.append(RunRecord(r.text("path"), r.text("runbook"), r.text("operator"), r.text("target"),
                                 r.time("started_at"), r.time("first_step_at", optional=True), r.text("status")))
    auto = None
    if data.get("auto") is not None:
        a = top.child("auto")
        auto = AutoRun(a.text("runbook"), a.text("case"), a.text("status"), a.text("record", optional=True))
    aftermath = None
    if data.get("aftermath") is not None:
        h = top.child("aftermath")
        aftermath = Aftermath(h.flag("healed"), h.flag("reset"), h.flag("healthy"), h.text("message"))
    fault_alerts = top.items("fault_alerts")
    if not all(isinstance(a, str) for a in fault_alerts):
        raise top._bad("fault_alerts", "a list of alert names")
    notes = top.items("notes")
    return DrillReport(
        scenario=top.text("scenario"), summary=top.text("summary"), symptom=top.text("symptom"),
        fault_alerts=tuple(fault_alerts), picked_at_random=top.flag("picked_at_random"),
        automatic=top.flag("automatic"), project=top.text("project"), started_at=top.time("started_at"),
        injected_at=top.time("injected_at", optional=True), ended_at=top.time("ended_at"),
        timeout=top.number("timeout_seconds"), outcome=outcome, times=times, alerts=tuple(alerts),
        records=tuple(records), auto=auto, aftermath=aftermath, error=top.text("error"),
        poll_seconds=top.number("poll_seconds"), notes=tuple(str(n) for n in notes))


def load_report(path: Path) -> DrillReport:
    """Read the report.json at `path` (or in the folder `path`)."""
    path = Path(path)
    if path.is_dir():
        path = path / JSON_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DrillReportError(f"{path}: no such drill report") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DrillReportError(f"{path}: cannot read the drill report: {exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise DrillReportError(f"{path}: not JSON ({exc}); give the report.json that `opsbook drill` wrote") from exc
    return report_from_json(data, path)


def write_report(folder: Path, report: DrillReport) -> tuple[Path, Path]:
    """`report.json` and `report.md` in `folder` (created), each replaced atomically."""
    folder = Path(folder)
    as_json = write_atomically(folder / JSON_FILE, json.dumps(report_json(report), indent=2) + "\n")
    as_markdown = write_atomically(folder / MARKDOWN_FILE, render_report(report))
    return as_json, as_markdown


# --- Markdown ---------------------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    """A moment as the report stores it, like every record: UTC ISO 8601 with milliseconds."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def moment_text(report: DrillReport, moment: str | None) -> str:
    """`03:12:36 UTC (+32.0 s)`: the time and how long after the injection."""
    if moment is None:
        return NOT_REACHED
    offset = report.since_injection(moment)
    after = "" if offset is None else (f" (+{format_duration(offset)})" if offset >= 0 else
                                       f" ({format_duration(-offset)} before the injection)")
    return f"{format_time(moment)}{after}"


def render_report(report: DrillReport) -> str:
    """The report for people: what happened, the three times, alerts, runs, and the next step."""
    lines = [f"# Drill: {literal(report.scenario)} ({format_time(report.started_at)})", ""]
    scenario = f"{literal(report.scenario)}: {literal(report.summary)}" if report.summary else literal(report.scenario)
    if report.picked_at_random:
        scenario += " (picked at random; the responder was not told)"
    mode = "automatic (`opsbook drill --auto`)" if report.automatic else "a person responding with the runbooks"
    if report.auto is not None:
        record = f", record {literal(report.auto.record)}" if report.auto.record else ""
        mode += (f": {literal(report.auto.runbook)}, case {literal(report.auto.case)}, run "
                 f"{literal(report.auto.status)}{record}")
    outcome = f"**{OUTCOME_TEXT[report.outcome]}**"
    if report.outcome is Outcome.NOT_MITIGATED:
        outcome += f" (within {format_duration(report.timeout)})"
    if report.error:
        outcome += f": {literal(report.error)}"
    lines += ["| | |", "| --- | --- |",
              f"| Scenario | {scenario} |",
              f"| Symptom | {literal(report.symptom) or '—'} |",
              f"| Alerts the fault fires | {', '.join(literal(a) for a in report.fault_alerts) or 'none'} |",
              f"| Mode | {mode} |",
              f"| Sandbox | project {literal(report.project)} |",
              f"| Started | {format_time(report.started_at)} |",
              f"| Fault injected | {format_time(report.injected_at) if report.injected_at else 'never'} "
              f"(the clock starts) |",
              f"| Ended | {format_time(report.ended_at)} |",
              f"| Outcome | {outcome} |",
              f"| Sandbox afterwards | {aftermath_text(report.aftermath)} |"]
    for note in report.notes:
        lines.append(f"| Note | {literal(note)} |")
    lines += ["", "## Times", "",
              f"From the injection. Alerts and the symptom are polled every {format_duration(report.poll_seconds)}; "
              "the first step is the record's own time.", "",
              "| measure | time | at | what counts |", "| --- | --- | --- | --- |"]
    for measure, title, counts in MEASURES:
        seconds = report.seconds(measure)
        moment = report.times.get(measure)
        lines.append(f"| {title} | {format_duration(seconds) if seconds is not None else NOT_REACHED} "
                     f"| {format_time(moment) if moment else '—'} | {counts} |")
    lines += ["", "## Alerts", "", *alert_table(report)]
    lines += ["", "## Runbook runs", ""]
    if report.records:
        lines += ["| record | runbook | operator | started | first step | status |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for run in report.records:
            lines.append(f"| {literal(run.path)} | {literal(run.runbook)} | {literal(run.operator)} "
                         f"| {moment_text(report, run.started_at)} | {moment_text(report, run.first_step_at)} "
                         f"| {literal(run.status)} |")
    else:
        lines.append("No `opsbook run` on the sandbox started after the injection.")
    lines += ["", "## Next", "",
              "Write it up with the post-mortem template (docs/incident-response.md): "
              "`opsbook postmortem RECORD_DIR... --drill report.json` drafts it from the records above."]
    return "\n".join(lines) + "\n"


def aftermath_text(aftermath: Aftermath | None) -> str:
    if aftermath is None:
        return "unknown"
    parts = ["healed" if aftermath.healed else "the heal script failed"]
    if aftermath.reset:
        parts.append("then reset (it was not healthy)")
    parts.append("healthy" if aftermath.healthy else "**NOT healthy**: run `opsbook sandbox reset`")
    text = ", ".join(parts)
    return text + (f": {literal(aftermath.message)}" if aftermath.message else "")


def measured(report: DrillReport, measure: str) -> str:
    """`32.0 s`, or "not reached"."""
    seconds = report.seconds(measure)
    return NOT_REACHED if seconds is None else format_duration(seconds)


def alert_table(report: DrillReport) -> list[str]:
    """The alerts of a drill as a Markdown table: fired and resolved, relative to the injection."""
    if not report.alerts:
        return ["No alert fired during the drill."]
    lines = ["| alert | the fault's | fired | resolved |", "| --- | --- | --- | --- |"]
    for alert in report.alerts:
        fired = moment_text(report, alert.fired_at) if alert.fired_at else "already firing at the injection"
        resolved = moment_text(report, alert.resolved_at) if alert.resolved_at else "still firing at the end"
        lines.append(f"| {literal(alert.name)} | {'yes' if alert.fault_alert else 'no'} | {fired} | {resolved} |")
    return lines
