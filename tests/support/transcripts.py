"""Builders for run records in tests: a runbook and the events a run of it emits.

Times advance on a fake clock, so a built record is the same on every run.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from opsbook.run.events import (
    Event,
    RunFinished,
    RunResult,
    RunStarted,
    RunStatus,
    StepFinished,
    StepOutput,
    StepResult,
    StepStarted,
    StepStatus,
)
from opsbook.runbook.model import Param, Prose, Runbook, Step, StepOptions

Cell = Prose | Step


def make_runbook(
    steps: list[tuple[str, str]] | list[tuple[str, str, StepOptions]],
    *,
    runbook_id: str = "incidents/worker-queue-backed-up",
    title: str = "Worker queue backed up",
    params: tuple[Param, ...] = (),
) -> Runbook:
    """A runbook with a prose paragraph before each step (`(name, source[, options])`)."""
    cells: list[Cell] = [Prose("# " + title + "\n\nWhen the queue grows, follow these steps.", 1)]
    line = 5
    for index, spec in enumerate(steps, start=1):
        name, source = spec[0], spec[1]
        options = spec[2] if len(spec) > 2 else StepOptions()  # type: ignore[misc]
        cells.append(Prose(f"Step {index}: {name.replace('-', ' ')}.", line))
        cells.append(Step(index, name, "bash", source, line + 2, options))
        line += 6
    return Runbook(
        id=runbook_id,
        path=Path("runbooks") / f"{runbook_id}.md",
        title=title,
        params=params,
        cells=tuple(cells),
    )


class RunBuilder:
    """Emits the events of a run of ``runbook``, one call per thing that happens."""

    def __init__(self, runbook: Runbook, start: str = "2026-11-26T20:15:00+00:00") -> None:
        self.runbook = runbook
        self.now = datetime.fromisoformat(start).astimezone(timezone.utc)
        self.events: list[Event] = []
        self.results: dict[int, StepResult] = {}
        self.session_start = ""
        self.operator = ""
        self.target = ""
        self.params: tuple[tuple[str, str], ...] = ()

    def stamp(self) -> str:
        return self.now.isoformat().replace("+00:00", "Z")

    def wait(self, seconds: float) -> RunBuilder:
        self.now += timedelta(seconds=seconds)
        return self

    def start(
        self,
        operator: str = "alice",
        target: str = "sandbox",
        params: tuple[tuple[str, str], ...] = (),
    ) -> RunBuilder:
        self.session_start = self.stamp()
        self.operator, self.target, self.params = operator, target, params
        self.results = {}
        self.events.append(RunStarted(self.runbook.id, target, operator, self.session_start, params))
        return self

    def step(
        self,
        name: str,
        *,
        stdout: str | list[str] = "",
        stderr: str | list[str] = "",
        status: StepStatus = StepStatus.PASSED,
        exit_status: int | None = 0,
        duration: float = 0.5,
        reason: str = "",
        attempt: int = 1,
        attempts: int | None = None,
        finish: bool = True,
        truncated: bool = False,
    ) -> RunBuilder:
        """One attempt: StepStarted, its output chunks, and (if ``finish``) StepFinished."""
        step = self.runbook.step(name)
        started = self.stamp()
        self.events.append(StepStarted(step.index, name, step.source, attempt, started))
        outs = [("stdout", c) for c in ([stdout] if isinstance(stdout, str) else stdout) if c]
        errs = [("stderr", c) for c in ([stderr] if isinstance(stderr, str) else stderr) if c]
        for stream, chunk in outs + errs:
            self.events.append(StepOutput(step.index, stream, chunk))
        self.wait(duration)
        if finish:
            result = StepResult(
                index=step.index,
                name=name,
                command=step.source,
                status=status,
                exit_status=exit_status,
                started_at=started,
                duration=duration,
                stdout="".join(c for _, c in outs),
                stderr="".join(c for _, c in errs),
                truncated=truncated,
                attempts=attempts if attempts is not None else attempt,
                reason=reason,
            )
            self.results[step.index] = result
            self.events.append(StepFinished(result))
        return self

    def skip(self, name: str, reason: str) -> RunBuilder:
        step = self.runbook.step(name)
        result = StepResult(step.index, name, step.source, StepStatus.SKIPPED, reason=reason)
        self.results[step.index] = result
        self.events.append(StepFinished(result))
        return self

    def finish(self, status: RunStatus) -> RunBuilder:
        """RunFinished; every step without a result this session is reported not run."""
        steps = []
        for step in self.runbook.steps:
            steps.append(
                self.results.get(step.index)
                or StepResult(
                    step.index, step.name, step.source, StepStatus.NOT_RUN,
                    reason="the run stopped before this step",
                )
            )
        self.events.append(
            RunFinished(
                RunResult(
                    runbook_id=self.runbook.id,
                    target=self.target,
                    status=status,
                    started_at=self.session_start,
                    finished_at=self.stamp(),
                    steps=tuple(steps),
                    operator=self.operator,
                    params=self.params,
                )
            )
        )
        return self


# --- the golden cases ----------------------------------------------------------------

PARAMS = (Param("QUEUE", "default", "queue to drain"), Param("REDIS_PASSWORD", secret=True))


def queue_runbook() -> Runbook:
    from opsbook.runbook.model import Retry, Role

    return make_runbook(
        [
            ("check-queue", 'redis-cli -a "$REDIS_PASSWORD" llen "$QUEUE"',
             StepOptions(role=Role.DIAGNOSE, output=r"^\d+$")),
            ("restart-worker", "docker compose restart worker\necho restarted",
             StepOptions(role=Role.REMEDIATE, retry=Retry(2, 5.0), timeout=60)),
            ("verify-drained", 'test "$(redis-cli llen "$QUEUE")" -lt 100',
             StepOptions(role=Role.VERIFY)),
        ],
        params=PARAMS,
    )


def case_all_passed() -> tuple[Runbook, list[Event]]:
    """Every step passes; stdout and stderr apart; a secret param's value never shown."""
    rb = queue_runbook()
    run = RunBuilder(rb).start(params=(("QUEUE", "default"), ("REDIS_PASSWORD", "hunter2-not-masked-upstream")))
    run.step("check-queue", stdout="4212\n", stderr="Warning: Using a password with '-a' is not safe.\n", duration=0.12)
    run.step("restart-worker", stdout=["Container sandbox-worker-1  Restarting\n", "Container sandbox-worker-1  Started\nrestarted\n"], duration=11.4)
    run.step("verify-drained", duration=0.05)
    run.finish(RunStatus.PASSED)
    return rb, run.events


def case_failed_after_retry() -> tuple[Runbook, list[Event]]:
    """A retried step fails twice: both attempts shown, later steps listed as not run."""
    rb = queue_runbook()
    run = RunBuilder(rb).start(operator="bob", target="staging", params=(("QUEUE", "emails"), ("REDIS_PASSWORD", "***")))
    run.step("check-queue", stdout="98231\n", duration=0.2)
    run.step("restart-worker", stderr="no such service: worker\n", attempt=1, finish=False, duration=0.4)
    run.wait(5)
    run.step(
        "restart-worker", stderr="no such service: worker\n", attempt=2, status=StepStatus.FAILED,
        exit_status=1, duration=5.9, reason="exit status 1 (expected 0) after 2 attempts",
    )
    run.finish(RunStatus.FAILED)
    return rb, run.events


def case_resumed() -> tuple[Runbook, list[Event]]:
    """A failed run resumed the next day: two sessions in one transcript."""
    rb = queue_runbook()
    run = RunBuilder(rb).start(params=(("QUEUE", "default"), ("REDIS_PASSWORD", "***")))
    run.step("check-queue", stdout="4212\n")
    run.step(
        "restart-worker", stdout="restarting\n", stderr="Error: timeout waiting for worker\n",
        status=StepStatus.TIMED_OUT, exit_status=None, duration=60.0,
        reason="timed out after 60 s", truncated=True, attempts=1,
    )
    run.finish(RunStatus.FAILED)
    run.wait(86_000).start(operator="carol", params=(("QUEUE", "default"), ("REDIS_PASSWORD", "***")))
    run.step("restart-worker", stdout="restarted\n", duration=3.2)
    run.step("verify-drained", duration=0.1)
    run.finish(RunStatus.PASSED)
    return rb, run.events


def case_killed_mid_step() -> tuple[Runbook, list[Event]]:
    """opsbook killed during step 2: the step is interrupted with no result; output kept."""
    rb = queue_runbook()
    run = RunBuilder(rb).start(params=(("QUEUE", "default"), ("REDIS_PASSWORD", "***")))
    run.step("check-queue", stdout="4212\n")
    run.step(
        "restart-worker",
        stdout=["\x1b[1mRestarting\x1b[0m worker\n", "log line with a fence:\n```\n````markdown\n", "progress 10%\rprogress 90%\n"],
        finish=False,
    )
    return rb, run.events


def case_skipped_and_interrupted() -> tuple[Runbook, list[Event]]:
    """A step skipped by the operator, then Ctrl-C: interrupted with a recorded result."""
    rb = queue_runbook()
    run = RunBuilder(rb).start()
    run.skip("check-queue", "skipped by the operator")
    run.step(
        "restart-worker", stdout="waiting for worker...\n", status=StepStatus.INTERRUPTED,
        exit_status=130, duration=42.0, reason="interrupted by Ctrl-C",
    )
    run.finish(RunStatus.INTERRUPTED)
    return rb, run.events


CASES = {
    "all-passed": case_all_passed,
    "failed-after-retry": case_failed_after_retry,
    "resumed": case_resumed,
    "killed-mid-step": case_killed_mid_step,
    "skipped-and-interrupted": case_skipped_and_interrupted,
}
