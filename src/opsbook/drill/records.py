"""The `opsbook run` records a drill counts: runs on the sandbox target started after the fault went in.

What counts (docs/cli.md, `opsbook drill`): a record directory in one of the folders watched
(`.opsbook/runs/`, where `opsbook run` writes by default, and the drill's own record of `--auto`)
whose `events.jsonl` has a run session (`run_started`) on target `sandbox` that started at or
after the injection. Its first step is the earliest `step_started` of those sessions: a step
skipped without running has none, so it does not count. A resumed record counts from its new
session. The record does not say which compose project it ran against: every sandbox run counts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from opsbook.errors import RecordError
from opsbook.record.eventlog import EVENTS_NAME, read_event_log
from opsbook.run.events import RunFinished, RunStarted, StepStarted
from opsbook.run.targets import SANDBOX
from opsbook.text import parse_time

MTIME_SLACK = 5.0
"""Seconds: a record folder last changed this long before the injection is not read at all."""


@dataclass(frozen=True)
class RunSeen:
    """One record with a run session started after the injection, as far as it has got."""

    path: Path
    runbook_id: str
    operator: str
    target: str
    started_at: str  # the first session started after the injection (UTC ISO 8601)
    first_step_at: str | None  # its earliest step_started, None while no step has started
    status: str  # passed | failed | interrupted (RunFinished), or "running" while none is recorded

    def as_json(self) -> dict[str, str | None]:
        return {"path": str(self.path), "runbook": self.runbook_id, "operator": self.operator, "target": self.target,
                "started_at": self.started_at, "first_step_at": self.first_step_at, "status": self.status}


def _after(stamp: str, since: datetime) -> bool:
    try:
        return parse_time(stamp) >= since
    except ValueError:
        return False


def run_seen(directory: Path, since: datetime, target: str = SANDBOX) -> RunSeen | None:
    """The record in `directory` if it has a session on `target` started at or after `since`.

    A record that cannot be read (damaged, being created) is None: a drill does not stop for it.
    """
    try:
        log = read_event_log(directory / EVENTS_NAME)
    except RecordError:
        return None
    counted: RunStarted | None = None
    counting = False
    first_step: datetime | None = None
    first_step_text: str | None = None
    status = "running"
    for event in log.events:
        if isinstance(event, RunStarted):
            counting = event.target == target and _after(event.started_at, since)
            if counting and counted is None:
                counted = event
            if counting:
                status = "running"
        elif counting and isinstance(event, StepStarted):
            try:
                when = parse_time(event.started_at)
            except ValueError:
                continue
            if when >= since and (first_step is None or when < first_step):
                first_step, first_step_text = when, event.started_at
        elif counting and isinstance(event, RunFinished):
            status = event.result.status.value
    if counted is None:
        return None
    return RunSeen(directory, counted.runbook_id, counted.operator, counted.target, counted.started_at,
                   first_step_text, status)


def runs_since(folders: Iterable[Path], since: datetime, target: str = SANDBOX) -> list[RunSeen]:
    """Every record in `folders` (each a folder of record folders, or a record folder itself) with a
    session on `target` started at or after `since`, the earliest started first."""
    threshold = since.timestamp() - MTIME_SLACK
    found: dict[Path, RunSeen] = {}
    for folder in folders:
        folder = Path(folder)
        candidates = [folder] if (folder / EVENTS_NAME).exists() else _children(folder)
        for directory in candidates:
            try:
                if os.stat(directory).st_mtime < threshold and os.stat(directory / EVENTS_NAME).st_mtime < threshold:
                    continue
            except OSError:
                continue
            seen = run_seen(directory, since, target)
            if seen is not None:
                found[directory.resolve()] = seen
    return sorted(found.values(), key=lambda r: (r.started_at, str(r.path)))


def _children(folder: Path) -> list[Path]:
    try:
        return [entry for entry in folder.iterdir() if entry.is_dir()]
    except OSError:
        return []
