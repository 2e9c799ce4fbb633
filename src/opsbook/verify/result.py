"""Frozen records of a verification: per runbook, per case, the run and the checks around it.

Verification wraps a normal run (`RunResult`) in checks the runner knows nothing about:
the scenario was injected, the diagnosis tells the fault from a healthy sandbox, the
alerts fired, the steps took no longer than the case's `within:` limit, and afterwards the
sandbox is healthy and the alerts resolved. The JUnit and status writers read only these records.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from opsbook.run.events import RunResult, RunStatus, StepResult, StepStatus


class Phase(str, Enum):
    """Where a check sits relative to the runbook's own steps."""

    BEFORE = "before"
    AFTER = "after"


@dataclass(frozen=True)
class Check:
    """One verification condition outside the steps (e.g. "alert WorkerQueueBackedUp fires")."""

    name: str
    phase: Phase
    passed: bool
    message: str = ""  # what went wrong and what to fix (empty when passed)
    duration: float = 0.0
    detail: str = ""  # longer evidence: output of a control run, alerts seen, log lines


@dataclass(frozen=True)
class AlertOutcome:
    """What verification saw of one alert the runbook names."""

    name: str
    fired: bool
    resolved: bool


@dataclass(frozen=True)
class CaseResult:
    """One verification case of a runbook (most runbooks have one, named "default")."""

    case: str
    scenario: str | None
    started_at: str  # UTC ISO 8601
    duration: float
    params: tuple[tuple[str, str], ...] = ()  # masked
    run: RunResult | None = None  # None when a check before the steps failed
    checks: tuple[Check, ...] = ()
    alerts: tuple[AlertOutcome, ...] = ()
    notebook: str | None = None  # path of the executed notebook, relative to the output dir
    error: str = ""  # verification itself broke (sandbox error, kernel died); fails the case
    step_failure: str = ""  # the failed step explained for the author (see explain_step_failure)
    steps_duration: float | None = None  # seconds from the start of the first step to the end of the last
    within: float | None = None  # the case's limit on steps_duration (`within:`), None: no limit

    @property
    def passed(self) -> bool:
        if self.error or any(not c.passed for c in self.checks):
            return False
        return self.run is not None and self.run.status is RunStatus.PASSED

    @property
    def steps(self) -> tuple[StepResult, ...]:
        return self.run.steps if self.run is not None else ()

    @property
    def message(self) -> str:
        """The first reason this case failed, in the order things happened."""
        if self.passed:
            return ""
        if self.error:
            return self.error
        for check in self.checks:
            if check.phase is Phase.BEFORE and not check.passed:
                return check.message
        if self.run is not None and self.run.status is not RunStatus.PASSED:
            if self.step_failure:
                return self.step_failure
            failed = self.run.failed_step
            if failed is not None:
                return failed.reason or f"step {failed.name!r} {failed.status.value}"
            return f"run {self.run.status.value}"
        for check in self.checks:
            if not check.passed:
                return check.message
        return "verification did not complete"


@dataclass(frozen=True)
class RunbookVerification:
    """Everything verification found out about one runbook."""

    runbook_id: str
    title: str
    path: str  # the runbook file, relative to the project root when possible
    started_at: str  # UTC ISO 8601; becomes verified_at in status.json
    duration: float
    cases: tuple[CaseResult, ...]
    commit: str | None = None

    @property
    def passed(self) -> bool:
        return bool(self.cases) and all(c.passed for c in self.cases)

    @property
    def message(self) -> str:
        for c in self.cases:
            if not c.passed:
                return c.message if len(self.cases) == 1 else f"[{c.case}] {c.message}"
        return "" if self.cases else "no verification case ran"


FAILED_STATUSES = (StepStatus.FAILED, StepStatus.TIMED_OUT, StepStatus.INTERRUPTED)


def seconds(value: float) -> str:
    """A time measured against a `within:` limit, in the limit's unit: `38 s`, `2.4 s` (tenths under 10 s)."""
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def limit_text(within: float) -> str:
    """A `within:` limit as the author wrote it: `120 s`, `0.5 s`."""
    return f"{within:g} s"


def within_check_name(within: float) -> str:
    return f"steps finish within {limit_text(within)}"


def over_limit_message(case: str, measured: float, within: float) -> str:
    """Why a case whose steps took too long fails, and what to do about it."""
    return (f"case {case} took {seconds(measured)}, over its limit of {limit_text(within)} (within: {within:g}): "
            f"find the step that got slower in the step times, make it faster, or raise `within:` if the "
            f"procedure may legitimately take longer")


def fix_hint(result: StepResult, timeout: int | None = None) -> str:
    """What the author should look at, judged from how the step failed."""
    reason = result.reason.lower()
    if result.status is StepStatus.TIMED_OUT:
        limit = f" of {timeout} s" if timeout else ""
        return (
            f"the step ran past its timeout{limit}: find what hangs (a command waiting for a "
            "service or for input), or raise timeout= if it is legitimately slow"
        )
    if result.status is StepStatus.INTERRUPTED:
        return "the step was interrupted; run verification again"
    if "not_output" in reason or "must not match" in reason or "matched /" in reason:
        return (
            "the output contains what not_output= forbids: the condition the step guards "
            "against is present, or the regex is too broad"
        )
    if "output" in reason and ("match" in reason or "regex" in reason):
        return (
            "the command ran but its output does not match output=: compare the output "
            "below with the regex and fix whichever is wrong"
        )
    if "confirm" in reason:
        return "the step needs a confirmation that verification cannot give; mark it ci=\"skip: why\""
    return (
        "the command failed: read its output below, then reproduce with "
        "`opsbook run RUNBOOK --step NAME` against `opsbook sandbox up`"
    )


def explain_step_failure(
    path: str, line: int, result: StepResult, timeout: int | None = None
) -> str:
    """A failure message naming the step, where it is, what failed and what to fix."""
    status = "timed out" if result.status is StepStatus.TIMED_OUT else result.status.value
    head = f"step {result.name!r} ({path}:{line}) {status}"
    if result.reason:
        head += f": {result.reason}"
    elif result.exit_status is not None:
        head += f": exit status {result.exit_status}"
    command = result.command.strip()
    lines = command.splitlines()
    shown = lines[0] + (f"  (+{len(lines) - 1} more lines)" if len(lines) > 1 else "") if lines else ""
    return f"{head}\n  command: {shown}\n  fix: {fix_hint(result, timeout)}"
