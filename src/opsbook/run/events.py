"""Frozen event records of a run and the Listener protocol every consumer implements.

The runner emits events in a fixed lifecycle:
RunStarted → (StepStarted → StepOutput* → StepFinished)* → RunFinished.
Outputs are masked for secrets before any listener sees them. A StepFinished of a step that ran
carries what the step changed in the shell variables the runbook's steps set (`ShellVariables`);
folded from the session's start (`fold_variables`) they are the variables as that step left them,
which a later run takes with `--state-from`. A variable whose value is secret is named, never stored.
"""

from __future__ import annotations

from collections.abc import Iterable
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
class ShellVariables:
    """The variables the runbook's steps set, when a step ended: in a StepFinished, what changed
    since the previous step's (the first of a session: all of them); from `fold_variables`, all."""

    values: tuple[tuple[str, str], ...] = ()  # name, value (new or changed): never a secret
    exported: tuple[str, ...] = ()  # every name, changed or not, that is exported now
    withheld: tuple[str, ...] = ()  # every name whose value is secret (or holds one): not stored
    removed: tuple[str, ...] = ()  # names unset (or withheld) since the previous step's

    def value(self, name: str) -> str | None:
        return dict(self.values).get(name)


def fold_variables(states: Iterable[ShellVariables]) -> ShellVariables:
    """The variables after a session's steps, from the changes each step's StepFinished carries."""
    current: dict[str, str] = {}
    exported: tuple[str, ...] = ()
    withheld: tuple[str, ...] = ()
    for state in states:
        current.update(state.values)
        for name in (*state.removed, *state.withheld):
            current.pop(name, None)
        exported, withheld = state.exported, state.withheld
    return ShellVariables(values=tuple(sorted(current.items())),
                          exported=tuple(n for n in exported if n in current), withheld=withheld)


@dataclass(frozen=True)
class StepFinished:
    result: StepResult
    state: ShellVariables | None = None  # None: the step did not run, or the kernel saved no state


@dataclass(frozen=True)
class RunFinished:
    result: RunResult


Event = Union[RunStarted, StepStarted, StepOutput, StepFinished, RunFinished]


class Listener(Protocol):
    """Anything that follows a run: terminal view, record writers, JUnit, progress bars."""

    def on_event(self, event: Event) -> None: ...
