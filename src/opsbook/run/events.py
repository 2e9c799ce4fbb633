"""Frozen event records of a run and the Listener protocol every consumer implements.

The runner emits events in a fixed lifecycle:
RunStarted → (StepStarted → StepOutput* → StepFinished)* → RunFinished.
Outputs are masked for secrets before any listener sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, Union


class StepStatus(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"
    NOT_RUN = "not_run"  # never reached: the run stopped before it; never "passed"


class RunStatus(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


def combined_output(stdout: str, stderr: str) -> str:
    """What `output` and `not_output` search, and what reports show: stdout, then stderr."""
    if stdout and stderr:
        return stdout.rstrip("\n") + "\n" + stderr
    return stdout or stderr


@dataclass(frozen=True)
class StepResult:
    """What happened to one step (its last attempt, with the count of attempts)."""

    index: int
    name: str
    command: str
    status: StepStatus
    exit_status: int | None = None
    started_at: str | None = None  # UTC ISO 8601
    duration: float = 0.0  # seconds, all attempts
    stdout: str = ""  # masked
    stderr: str = ""  # masked
    truncated: bool = False
    attempts: int = 0
    reason: str = ""  # why it failed, was skipped or not run, for humans

    @property
    def output(self) -> str:
        """Combined output as expectations see it: stdout then stderr."""
        return combined_output(self.stdout, self.stderr)


@dataclass(frozen=True)
class RunResult:
    """The whole run: every step of the runbook appears once, in order."""

    runbook_id: str
    target: str
    status: RunStatus
    started_at: str
    finished_at: str
    steps: tuple[StepResult, ...]
    operator: str = ""
    params: tuple[tuple[str, str], ...] = ()  # masked values

    @property
    def failed_step(self) -> StepResult | None:
        for s in self.steps:
            if s.status in (StepStatus.FAILED, StepStatus.TIMED_OUT, StepStatus.INTERRUPTED):
                return s
        return None


@dataclass(frozen=True)
class RunStarted:
    runbook_id: str
    target: str
    operator: str
    started_at: str
    params: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()  # what the record must say about this run (e.g. a lock taken over)


@dataclass(frozen=True)
class StepStarted:
    index: int
    name: str
    command: str
    attempt: int
    started_at: str


@dataclass(frozen=True)
class StepOutput:
    index: int
    stream: str  # "stdout" | "stderr"
    text: str  # masked


@dataclass(frozen=True)
class StepFinished:
    result: StepResult


@dataclass(frozen=True)
class RunFinished:
    result: RunResult


Event = Union[RunStarted, StepStarted, StepOutput, StepFinished, RunFinished]


class Listener(Protocol):
    """Anything that follows a run: terminal view, record writers, JUnit, progress bars."""

    def on_event(self, event: Event) -> None: ...
