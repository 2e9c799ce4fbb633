"""The run record on disk: ``events.jsonl``, ``transcript.md`` and ``executed.ipynb``.

:class:`RecordWriter` is a run Listener. Every event is appended to ``events.jsonl`` as it
arrives (written through to the OS at once, so output that was shown survives a killed
process; fsynced at every step end). At every run and step boundary the transcript and the
notebook are rebuilt from the whole log and replaced atomically (temporary file in the same
directory, then ``os.replace``), so killing opsbook at any moment leaves three readable
files describing everything done so far. A record directory that already holds a log
(``--resume``) is appended to: the resumed run becomes a new session of the same record.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from opsbook.run.events import Event, RunFinished, RunStarted, StepFinished, StepOutput, StepStarted
from opsbook.runbook.model import Runbook
from opsbook.run.redact import Masker, mask_event
from opsbook.errors import RecordError
from opsbook.record.eventlog import (
    SessionFolder,
    event_line,
    fold_sessions,
    read_event_log,
    read_events,
)
from opsbook.record.notebook import notebook_data, notebook_text
from opsbook.record.transcript import TranscriptRenderer, render_transcript
from opsbook.text import stale_temporaries, write_atomically

EVENTS_FILE = "events.jsonl"
TRANSCRIPT_FILE = "transcript.md"
NOTEBOOK_FILE = "executed.ipynb"

_RENDER_ON = (RunStarted, StepStarted, StepFinished, RunFinished)

CHEAP_RENDER = 0.005
"""Seconds: a record that renders this fast is rewritten at every step boundary."""
SMALL_RECORD_EVENTS = 100
"""A record of fewer events (about twenty-five steps) is rewritten at every step boundary however slow
the machine is right now: what a person reads mid-run must not depend on the load."""
RENDER_SHARE = 0.1
"""At most this share of a run's time goes to rewriting a large record at step boundaries."""
_SYNC_ON = (StepFinished, RunFinished)


def default_record_dir(base: Path, runbook_id: str, now: datetime) -> Path:
    """``base/.opsbook/runs/20261126T201500Z-incidents-worker-queue-backed-up``.

    ``now`` is converted to UTC (a naive datetime is taken to be UTC already).
    """
    moment = now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    return Path(base) / ".opsbook" / "runs" / f"{stamp}-{runbook_id.replace('/', '-')}"


def load_record(directory: Path) -> list[Event]:
    """The events of the record in ``directory`` (a half-written last line is left out)."""
    path = Path(directory) / EVENTS_FILE
    if not path.exists():
        raise RecordError(f"{directory}: not an opsbook run record (no {EVENTS_FILE})")
    return read_events(path)


def render_record(directory: Path, runbook: Runbook, *, masker: Masker | None = None) -> None:
    """Rebuild ``transcript.md`` and ``executed.ipynb`` from the record's ``events.jsonl``.

    After a crash this brings the transcript up to the last event written, including the
    output of the step that was running when opsbook stopped.
    """
    directory = Path(directory)
    events = read_event_log(directory / EVENTS_FILE).events
    _render(directory, runbook, events, masker)


def _render(directory: Path, runbook: Runbook, events: list[Event], masker: Masker | None) -> None:
    transcript = render_transcript(runbook, events, masker=masker)
    write_atomically(directory / TRANSCRIPT_FILE, transcript)
    notebook = notebook_data(runbook, fold_sessions(events), masker=masker)
    write_atomically(directory / NOTEBOOK_FILE, notebook_text(notebook))


class RecordWriter:
    """Listener that keeps the run record in ``directory`` up to date, event by event.

    ``masker`` (optional) masks every event once more before it is stored; events are
    already masked by the runner, this is a second line of defence. The transcript is
    rewritten at every run and step boundary, the notebook at every step end; while a step
    prints for long, the transcript is also refreshed at most every ``refresh_seconds``
    (never per output chunk; ``None``: only at boundaries). Rendering reuses the text of
    attempts that did not change, but the files are written whole; once a record is so large
    (``SMALL_RECORD_EVENTS``) that writing it takes longer than ``CHEAP_RENDER``, step boundaries rewrite it only when
    that keeps the writing under ``RENDER_SHARE`` of the run's time, so the thousandth step
    costs what the first did. The run's start and end are always written, and `events.jsonl`
    always holds every event (`render_record` rebuilds the rest from it). Safe to call from
    several threads. Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        directory: Path,
        runbook: Runbook,
        *,
        masker: Masker | None = None,
        refresh_seconds: float | None = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = Path(directory)
        self.runbook = runbook
        self.masker = masker if masker else None
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._folder = SessionFolder()
        self._transcript = TranscriptRenderer(runbook, masker=self.masker)
        self.events: list[Event] = []
        """Every event of the record, including those of earlier sessions (resume)."""
        self.discarded_tail: str | None = None
        """A half-written line found at the end of an existing log and cut off before appending."""
        self.events_path = self.directory / EVENTS_FILE
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _remove_stale_temporaries(self.directory)
            if self.events_path.exists():
                self._take_over_existing_log()
            self._file: IO[str] | None = open(
                self.events_path, "a", encoding="utf-8", newline="\n"
            )
        except OSError as exc:
            raise RecordError(
                f"{self.directory}: cannot write the run record: {exc.strerror or exc}"
            ) from exc
        self._last_render = self._clock()
        self._last_cost = 0.0  # how long the last render took
        self._unrendered_output = False
        self._notebook_behind = False
        self.renders = 0
        """How many times the transcript was written (for tests and benchmarks)."""

    def _take_over_existing_log(self) -> None:
        log = read_event_log(self.events_path)
        for event in log.events:
            self._remember(event)
        if log.truncated_tail is not None or not _ends_with_newline(self.events_path):
            # A crash cut the last line short: drop it so that our first line does not
            # get glued to it (it was unreadable anyway).
            self.discarded_tail = log.truncated_tail
            with open(self.events_path, "r+b") as f:
                f.truncate(log.valid_bytes)
                if log.valid_bytes:
                    f.seek(log.valid_bytes - 1)
                    if f.read(1) != b"\n":
                        f.write(b"\n")
                f.flush()
                os.fsync(f.fileno())

    def _remember(self, event: Event) -> None:
        self.events.append(event)
        self._folder.add(event)

    def on_event(self, event: Event) -> None:
        """Store ``event``; at boundaries, rewrite the transcript and the notebook."""
        if self.masker:
            event = mask_event(event, self.masker)
        with self._lock:
            if self._file is None:
                raise RecordError(f"{self.directory}: the record writer is closed")
            try:
                self._file.write(event_line(event))
                self._file.flush()  # to the OS: survives the process being killed
                self._remember(event)
                if isinstance(event, _SYNC_ON):
                    os.fsync(self._file.fileno())  # to the disk: survives a machine crash
                if isinstance(event, (RunStarted, RunFinished)):
                    self._render(notebook=True)
                elif isinstance(event, _RENDER_ON):
                    wants_notebook = not isinstance(event, StepStarted)
                    if self._render_due():
                        self._render(notebook=wants_notebook or self._notebook_behind)
                    else:
                        self._notebook_behind = self._notebook_behind or wants_notebook
                elif isinstance(event, StepOutput):
                    self._unrendered_output = True
                    if (
                        self.refresh_seconds is not None
                        and self._clock() - self._last_render >= self.refresh_seconds
                    ):
                        self._render(notebook=False)
            except OSError as exc:
                raise RecordError(
                    f"{self.directory}: cannot write the run record: {exc.strerror or exc}"
                ) from exc

    def _render_due(self) -> bool:
        """Whether a step boundary rewrites the files now (see the class docstring)."""
        if self._last_cost < CHEAP_RENDER or len(self.events) < SMALL_RECORD_EVENTS:
            return True
        waited = self._clock() - self._last_render
        return waited >= self._last_cost * (1 - RENDER_SHARE) / RENDER_SHARE

    def _render(self, *, notebook: bool) -> None:
        started = self._clock()
        sessions = self._folder.sessions
        write_atomically(self.directory / TRANSCRIPT_FILE, self._transcript.render(sessions))
        if notebook:
            # Events are masked on arrival (above), so no second masking pass here.
            data = notebook_data(self.runbook, sessions)
            write_atomically(self.directory / NOTEBOOK_FILE, notebook_text(data))
            self._notebook_behind = False
        self._last_render = self._clock()
        self._last_cost = self._last_render - started
        self._unrendered_output = False
        self.renders += 1

    def close(self) -> None:
        """Bring the transcript and notebook up to date and close the log."""
        with self._lock:
            if self._file is None:
                return
            try:
                self._render(notebook=True)
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError as exc:
                raise RecordError(
                    f"{self.directory}: cannot write the run record: {exc.strerror or exc}"
                ) from exc
            finally:
                self._file.close()
                self._file = None

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _remove_stale_temporaries(directory: Path) -> None:
    """Temporary files left by a process killed between writing and renaming them."""
    for name in (TRANSCRIPT_FILE, NOTEBOOK_FILE):
        for stale in stale_temporaries(directory / name):
            try:
                stale.unlink()
            except OSError:
                pass


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() == 0:
            return True
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
