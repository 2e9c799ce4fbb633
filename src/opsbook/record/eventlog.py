"""The event log (``events.jsonl``): one JSON object per event, and how to read a run back.

Each line is an event's fields plus ``"event"`` (its kind, e.g. ``"step_output"``); enums
are stored as their values, tuples as lists, nested results as objects. Unknown keys are
ignored and missing keys take their defaults, so older and newer logs stay readable.

A crash can leave the last line half-written: readers ignore that line and report it
(:class:`TruncatedRecordWarning`, or :attr:`EventLog.truncated_tail`). A damaged line
anywhere else is an error with the file and line number.

:func:`fold_sessions` turns a flat event list into sessions (one per ``RunStarted``; a
resumed run appends a session) of step attempts: the shape the transcript and notebook
writers render.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from opsbook.errors import RecordError
from opsbook.run.events import (
    Event,
    RunFinished,
    RunStarted,
    StepFinished,
    StepOutput,
    StepResult,
    StepStarted,
    StepStatus,
)

EVENT_KINDS: dict[str, type[Any]] = {
    "run_started": RunStarted,
    "step_started": StepStarted,
    "step_output": StepOutput,
    "step_finished": StepFinished,
    "run_finished": RunFinished,
}
_KIND_OF: dict[type[Any], str] = {cls: kind for kind, cls in EVENT_KINDS.items()}


EVENTS_NAME = "events.jsonl"


class TruncatedRecordWarning(UserWarning):
    """The last line of an event log was cut short (opsbook was killed while writing it)."""


# --- one event <-> one JSON object ---------------------------------------------------


def _to_json(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_to_json(v) for v in value]
    return value


def event_to_json(event: Event) -> dict[str, Any]:
    """The JSON object stored for ``event`` (``"event"`` names its kind)."""
    kind = _KIND_OF.get(type(event))
    if kind is None:
        raise TypeError(f"not a run event: {event!r}")
    data: dict[str, Any] = {"event": kind}
    data.update(_to_json(event))
    return data


def _from_json(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is not type(None):
                return _from_json(option, value)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_json(args[0], v) for v in value)
        return tuple(_from_json(a, v) for a, v in zip(args, value))
    if isinstance(tp, type):
        if issubclass(tp, Enum):
            return tp(value)
        if dataclasses.is_dataclass(tp):
            return _dataclass_from_json(tp, value)
        if tp is float and isinstance(value, int):
            return float(value)
    return value


def _dataclass_from_json(cls: type[Any], data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {
        f.name: _from_json(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)
        if f.name in data
    }
    return cls(**kwargs)


def event_from_json(data: dict[str, Any]) -> Event:
    """The event stored as ``data`` by :func:`event_to_json`."""
    kind = data.get("event")
    cls = EVENT_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown event kind {kind!r}")
    try:
        event: Event = _dataclass_from_json(cls, data)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"bad {kind} event: {exc}") from exc
    return event


def event_line(event: Event) -> str:
    """``event`` as one line of the log, newline included."""
    return json.dumps(event_to_json(event), ensure_ascii=False, separators=(",", ":")) + "\n"


# --- the file ------------------------------------------------------------------------


def append_events(path: Path, events: Iterable[Event]) -> None:
    """Append ``events`` to the log at ``path`` (created if missing) and fsync it."""
    text = "".join(event_line(e) for e in events)
    try:
        with open(path, "a", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise RecordError(f"{path}: cannot write the event log: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class EventLog:
    """An event log as read: its events, and the damaged last line if there was one."""

    events: list[Event]
    truncated_tail: str | None = None  # the unreadable last line (cut short by a crash)
    truncated_line: int = 0  # its line number, 0 if none
    valid_bytes: int = 0  # bytes of the file before the damaged last line (repair on resume)


def parse_event_log(data: bytes | str, path: Path | str = EVENTS_NAME) -> EventLog:
    """Parse the content of an event log; see :func:`read_event_log`."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    events: list[Event] = []
    lines = raw.split(b"\n")
    # After a final newline split() yields b""; without one, the last piece is unterminated.
    offset = 0
    for number, line in enumerate(lines, start=1):
        is_last = number == len(lines)
        if line.strip():
            try:
                value = json.loads(line.decode("utf-8"))
                if not isinstance(value, dict):
                    raise ValueError("not a JSON object")
                events.append(event_from_json(value))
            except ValueError as exc:  # includes JSON and UTF-8 decoding errors
                # Only the last line can be cut short by a crash: it has no newline.
                if is_last:
                    tail = line.decode("utf-8", errors="replace")
                    return EventLog(events, tail, number, offset)
                raise RecordError(f"{path}:{number}: damaged event log line: {exc}") from exc
        offset += len(line) + (0 if is_last else 1)
    return EventLog(events, None, 0, offset)


def read_event_log(path: Path) -> EventLog:
    """Read the log at ``path``; a half-written last line is returned apart, not raised."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise RecordError(f"{path}: no such event log") from exc
    except OSError as exc:
        raise RecordError(f"{path}: cannot read the event log: {exc.strerror or exc}") from exc
    return parse_event_log(data, path)


def read_events(path: Path) -> list[Event]:
    """The events in the log at ``path``.

    A half-written last line (opsbook killed mid-write) is left out and reported with a
    :class:`TruncatedRecordWarning`; everything before it is returned.
    """
    log = read_event_log(path)
    if log.truncated_tail is not None:
        warnings.warn(
            f"{path}:{log.truncated_line}: ignoring the last line, cut short when opsbook "
            f"stopped ({len(log.truncated_tail)} characters)",
            TruncatedRecordWarning,
            stacklevel=2,
        )
    return log.events


# --- sessions and attempts -----------------------------------------------------------

NO_RESULT_REASON = "no result recorded (opsbook stopped)"


class Attempt:
    """One attempt at a step within a session, as far as the log tells."""

    def __init__(
        self, index: int, name: str, command: str, attempt: int, started_at: str | None
    ) -> None:
        self.index = index
        self.name = name
        self.command = command
        self.attempt = attempt  # 1-based
        self.started_at = started_at
        self._result: StepResult | None = None  # None: no StepFinished (yet)
        self._final = True  # False: the step was run again later in the same session
        self._pieces: list[tuple[str, list[str]]] = []  # output per run of one stream
        self._chunks: list[tuple[str, str]] | None = []
        self.version = 0
        """Changes whenever anything shown about this attempt changes (for render caches)."""

    @property
    def result(self) -> StepResult | None:
        return self._result

    @result.setter
    def result(self, value: StepResult | None) -> None:
        self._result = value
        self.version += 1

    @property
    def final(self) -> bool:
        return self._final

    @final.setter
    def final(self, value: bool) -> None:
        self._final = value
        self.version += 1

    def add_output(self, stream: str, text: str) -> None:
        if not text:
            return
        # Pieces are joined only when read: appending stays linear for long outputs.
        if self._pieces and self._pieces[-1][0] == stream:
            self._pieces[-1][1].append(text)
        else:
            self._pieces.append((stream, [text]))
        self._chunks = None
        self.version += 1

    @property
    def chunks(self) -> list[tuple[str, str]]:
        """Streamed output as (stream, text), consecutive pieces of one stream merged."""
        if self._chunks is None:
            self._chunks = [(stream, "".join(pieces)) for stream, pieces in self._pieces]
        return self._chunks

    @property
    def outputs(self) -> list[tuple[str, str]]:
        """(stream, text) in arrival order; from the result when no output was streamed."""
        if self._pieces or self._result is None:
            return list(self.chunks)
        streams = (("stdout", self._result.stdout), ("stderr", self._result.stderr))
        return [(stream, text) for stream, text in streams if text]

    def text(self, stream: str) -> str:
        return "".join(t for s, t in self.outputs if s == stream)

    @property
    def status(self) -> StepStatus:
        if self._result is not None:
            return self._result.status
        if not self._final:
            return StepStatus.FAILED  # it was run again, so this attempt did not pass
        return StepStatus.INTERRUPTED

    @property
    def reason(self) -> str:
        if self._result is not None:
            return self._result.reason
        if not self._final:
            return "no result of its own recorded; the step was run again"
        return NO_RESULT_REASON

    @property
    def interrupted_without_result(self) -> bool:
        """Started, never finished, not retried: opsbook stopped during this attempt."""
        return self._result is None and self._final


@dataclass
class RunSession:
    """Events from one ``RunStarted`` to the next: the first run or a resumption."""

    number: int  # 1-based
    started: RunStarted | None  # None: events before any RunStarted (a damaged log)
    attempts: list[Attempt] = field(default_factory=list)
    finished: RunFinished | None = None

    @property
    def resumed(self) -> bool:
        return self.number > 1

    def final_attempts(self) -> list[Attempt]:
        """The last attempt of each step touched in this session, in the order run."""
        return [a for a in self.attempts if a.final]


class SessionFolder:
    """Folds events one at a time into sessions of step attempts (see fold_sessions)."""

    def __init__(self) -> None:
        self.sessions: list[RunSession] = []
        self._current: RunSession | None = None
        self._open: dict[int, Attempt] = {}  # step index -> attempt awaiting its result

    def _session(self) -> RunSession:
        if self._current is None:
            self._current = RunSession(len(self.sessions) + 1, None)
            self.sessions.append(self._current)
        return self._current

    def add(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._current = RunSession(len(self.sessions) + 1, event)
            self.sessions.append(self._current)
            self._open = {}
        elif isinstance(event, StepStarted):
            session = self._session()
            # Running a step again in the same session (a retry, automatic or chosen)
            # makes the earlier attempt history, whether or not it got a StepFinished.
            for earlier in session.attempts:
                if earlier.index == event.index and earlier.final:
                    earlier.final = False
            attempt = Attempt(
                event.index, event.name, event.command, event.attempt, event.started_at
            )
            session.attempts.append(attempt)
            self._open[event.index] = attempt
        elif isinstance(event, StepOutput):
            target = self._open.get(event.index) or _latest_attempt(self._session(), event.index)
            if target is not None:
                target.add_output(event.stream, event.text)
        elif isinstance(event, StepFinished):
            result = event.result
            session = self._session()
            target = self._open.pop(result.index, None)
            if target is None:
                target = Attempt(
                    result.index, result.name, result.command, max(result.attempts, 1),
                    result.started_at,
                )
                for earlier in session.attempts:
                    if earlier.index == result.index and earlier.final:
                        earlier.final = False
                session.attempts.append(target)
            target.result = result
        elif isinstance(event, RunFinished):
            self._session().finished = event
            self._open = {}


def fold_sessions(events: Iterable[Event]) -> list[RunSession]:
    """Group ``events`` into sessions (one per RunStarted) of step attempts.

    Works with either retry style: one StepStarted per attempt and a single StepFinished,
    or a StepFinished after every attempt. A StepFinished with no StepStarted (a skipped
    step) becomes an attempt without output.
    """
    folder = SessionFolder()
    for event in events:
        folder.add(event)
    return folder.sessions


def _latest_attempt(s: RunSession, index: int) -> Attempt | None:
    for attempt in reversed(s.attempts):
        if attempt.index == index:
            return attempt
    return None


def latest_results(sessions: Sequence[RunSession]) -> dict[int, Attempt]:
    """For each step index, the last final attempt in any session (the step's outcome)."""
    latest: dict[int, Attempt] = {}
    for s in sessions:
        for attempt in s.final_attempts():
            latest[attempt.index] = attempt
    return latest
