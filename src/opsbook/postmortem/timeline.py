"""The timeline of an incident or a drill from `opsbook run` records and a drill report (pure).

One entry per run start, per step (its last attempt in that session: status, a short excerpt of
what it printed), per run end, and for a drill: the injection, each alert fired and resolved,
the mitigation and the end. Records are masked when written; the values of params a record marks
secret (`***` in its executed notebook) are masked once more here, in case one reached an output.
Entries hold raw text: the draft escapes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from opsbook.drill.report import OUTCOME_TEXT, DrillReport
from opsbook.errors import RecordError
from opsbook.record.eventlog import EVENTS_NAME, RunSession, fold_sessions, read_event_log
from opsbook.record.transcript import STATUS_LABEL
from opsbook.record.writer import NOTEBOOK_FILE, TRANSCRIPT_FILE
from opsbook.run.events import StepStatus
from opsbook.run.redact import MASK, Masker
from opsbook.text import parse_time, terminal_text

EXCERPT_LINES = 2
EXCERPT_CHARS = 100
REASON_CHARS = 90


@dataclass(frozen=True)
class RunRecordRead:
    """One record folder, read."""

    path: Path
    sessions: tuple[RunSession, ...]
    masker: Masker
    truncated: bool  # its last line was cut short (opsbook was killed while writing it)

    @property
    def runbook_id(self) -> str:
        return next((s.started.runbook_id for s in self.sessions if s.started), "")

    @property
    def operators(self) -> list[str]:
        return list(dict.fromkeys(s.started.operator for s in self.sessions if s.started))

    @property
    def targets(self) -> list[str]:
        return list(dict.fromkeys(s.started.target for s in self.sessions if s.started))

    @property
    def status(self) -> str:
        last = self.sessions[-1]
        return last.finished.result.status.value if last.finished else "interrupted (no end recorded)"

    @property
    def transcript(self) -> Path:
        return self.path / TRANSCRIPT_FILE


def _secret_names(path: Path) -> set[str]:
    """Params the record's executed notebook shows as *** (the runbook marks them secret)."""
    try:
        meta = json.loads((path / NOTEBOOK_FILE).read_text(encoding="utf-8"))["metadata"]["opsbook"]
        params = meta.get("params") or {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()
    return {str(k) for k, v in params.items() if v == MASK} if isinstance(params, dict) else set()


def read_run_record(path: Path) -> RunRecordRead:
    """The record in folder `path`; RecordError naming the file and what is wrong when it is not one."""
    path = Path(path)
    if not path.exists():
        raise RecordError(f"{path}: no such record folder")
    if not path.is_dir():
        raise RecordError(f"{path}: not a folder: give the record folder an `opsbook run` wrote "
                          f"(.opsbook/runs/<UTC time>-<runbook>/, it holds {EVENTS_NAME})")
    if not (path / EVENTS_NAME).is_file():
        raise RecordError(f"{path}: not an opsbook run record (no {EVENTS_NAME}); records are the folders in "
                          f".opsbook/runs/ (or the --record-dir of the run)")
    log = read_event_log(path / EVENTS_NAME)
    sessions = tuple(fold_sessions(log.events))
    if not any(s.started for s in sessions):
        raise RecordError(f"{path / EVENTS_NAME}: holds no run (no run_started event)")
    secret = _secret_names(path)
    values = {name: value for s in sessions if s.started for name, value in s.started.params
              if name in secret and value and value != MASK}
    return RunRecordRead(path, sessions, Masker(values), log.truncated_tail is not None)


@dataclass(frozen=True)
class TimelineEntry:
    """One row of the timeline. Text fields are raw (from records): escape them to show them."""

    at: datetime
    event: str
    operator: str = ""
    runbook: str = ""
    step: str = ""
    status: str = ""
    detail: str = ""  # why a step failed or was skipped
    excerpt: str = ""  # the end of what the step printed, masked


def excerpt(text: str, masker: Masker, lines: int = EXCERPT_LINES) -> str:
    """The last `lines` non-empty lines of an output as the terminal showed it, masked."""
    # Masked before and after the escapes go: a secret may show only once colour codes are removed.
    shown = [line.strip() for line in masker.mask(terminal_text(masker.mask(text))).splitlines() if line.strip()]
    return "\n".join(shown[-lines:])


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def record_entries(record: RunRecordRead) -> list[TimelineEntry]:
    """Run start, each step's last attempt in each session, run end; in the order they happened."""
    entries: list[TimelineEntry] = []
    mask = record.masker.mask
    for session in record.sessions:
        started = session.started
        if started is None:
            continue
        when = _moment(started.started_at)
        if when is None:
            continue
        who, runbook = mask(started.operator), mask(started.runbook_id)
        event = "run resumed" if session.resumed else "run started"
        entries.append(TimelineEntry(when, event, who, runbook, status=f"on target {mask(started.target)}"))
        for attempt in session.final_attempts():
            result = attempt.result
            at = _moment(result.started_at if result and result.started_at else attempt.started_at) or when
            when = max(when, at)
            status = STATUS_LABEL[attempt.status]
            attempts = result.attempts if result and result.attempts else attempt.attempt
            if attempts > 1:
                status += f" after {attempts} attempts"
            detail = "" if attempt.status is StepStatus.PASSED else mask(attempt.reason)
            output = "" if attempt.status in (StepStatus.SKIPPED, StepStatus.NOT_RUN) else "\n".join(
                text for _, text in attempt.outputs)
            entries.append(TimelineEntry(at, "step", who, runbook, mask(attempt.name), status, detail,
                                         excerpt(output, record.masker)))
        if session.finished is not None:
            run = session.finished.result
            end = _moment(run.finished_at) or when
            not_run = sum(1 for s in run.steps if s.status is StepStatus.NOT_RUN)
            detail = f"{not_run} step(s) not run" if not_run and run.status.value != "passed" else ""
            entries.append(TimelineEntry(end, "run finished", who, runbook, status=run.status.value, detail=detail))
        else:
            entries.append(TimelineEntry(when, "run stopped", who, runbook, status="no end recorded",
                                         detail="opsbook stopped before the run finished"))
    return entries


def drill_entries(report: DrillReport) -> list[TimelineEntry]:
    """The drill's injection, alerts, mitigation and end."""
    entries = []
    injected = _moment(report.injected_at)
    if injected is not None:
        entries.append(TimelineEntry(injected, "fault injected", status="drill",
                                     detail=f"{report.scenario}: {report.summary}".rstrip(": ")))
    for alert in report.alerts:
        fired, resolved = _moment(alert.fired_at), _moment(alert.resolved_at)
        if fired is not None:
            entries.append(TimelineEntry(fired, "alert fired", step=alert.name))
        if resolved is not None:
            entries.append(TimelineEntry(resolved, "alert resolved", step=alert.name))
    mitigated = _moment(report.times.get("mitigate"))
    if mitigated is not None:
        entries.append(TimelineEntry(mitigated, "mitigated", status="drill",
                                     detail="symptom gone, sandbox healthy, the fault's alerts resolved"))
    ended = _moment(report.ended_at)
    if ended is not None:
        entries.append(TimelineEntry(ended, "drill ended", status=OUTCOME_TEXT[report.outcome]))
    return entries


def timeline(records: Sequence[RunRecordRead], drill: DrillReport | None = None) -> list[TimelineEntry]:
    """Every entry of the records and the drill, oldest first (ties keep their order)."""
    entries: list[TimelineEntry] = []
    for record in records:
        entries += record_entries(record)
    if drill is not None:
        entries += drill_entries(drill)
    return sorted(entries, key=lambda e: e.at)


def first_step(records: Iterable[RunRecordRead]) -> datetime | None:
    """When the first step of any record started."""
    moments = [_moment(a.started_at) for r in records for s in r.sessions for a in s.attempts]
    known = [m for m in moments if m is not None]
    return min(known) if known else None
