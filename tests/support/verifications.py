"""Verification records for tests of the JUnit and status writers: one failed runbook, one with two cases."""

from __future__ import annotations

from opsbook.run.events import RunResult, RunStatus, StepResult, StepStatus
from opsbook.verify.result import AlertOutcome, CaseResult, Check, Phase, RunbookVerification, explain_step_failure


T0 = "2025-11-13T10:00:00+00:00"


def _step(index: int, name: str, status: StepStatus, **kw: object) -> StepResult:
    return StepResult(index=index, name=name, command=kw.pop("command", f"echo {name}"), status=status, **kw)  # type: ignore[arg-type]


def _run(*steps: StepResult, status: RunStatus = RunStatus.PASSED) -> RunResult:
    return RunResult("incidents/x", "sandbox", status, T0, T0, tuple(steps))


def failing_verification() -> RunbookVerification:
    failed = _step(
        2,
        "restart-worker",
        StepStatus.FAILED,
        command='$COMPOSE restart worker\necho done',
        exit_status=7,
        duration=1.5,
        stdout="restarting\n\x1b[31mred\x1b[0m \x07bell\n",
        stderr="boom\n",
        attempts=1,
        reason="exit status 7, expected 0",
    )
    run = _run(
        _step(1, "confirm-backlog", StepStatus.PASSED, exit_status=0, duration=0.2, stdout="1200\n"),
        failed,
        _step(3, "watch-drain", StepStatus.NOT_RUN, reason="the run stopped at step 'restart-worker'"),
        _step(4, "page-owner", StepStatus.SKIPPED, reason="ci skip: pages a human"),
        status=RunStatus.FAILED,
    )
    case = CaseResult(
        case="default",
        scenario="worker-stuck",
        started_at=T0,
        duration=3.0,
        run=run,
        checks=(
            Check("inject scenario worker-stuck", Phase.BEFORE, True, duration=0.5),
            Check("alert WorkerQueueBackedUp fires", Phase.BEFORE, True, duration=4.0),
            Check(
                "alert WorkerQueueBackedUp resolves",
                Phase.AFTER,
                False,
                message="alert WorkerQueueBackedUp still firing 60 s after the runbook ended",
                detail="firing: WorkerQueueBackedUp",
            ),
        ),
        alerts=(AlertOutcome("WorkerQueueBackedUp", fired=True, resolved=False),),
        step_failure=explain_step_failure("runbooks/incidents/x.md", 40, failed),
    )
    return RunbookVerification("incidents/x", "Worker queue backed up", "runbooks/incidents/x.md", T0, 9.5, (case,), "abc123")


def passing_two_cases() -> RunbookVerification:
    cases = tuple(
        CaseResult(
            case=name,
            scenario=None,
            started_at=T0,
            duration=1.0,
            params=(("VERSION", name),),
            run=_run(_step(1, "deploy", StepStatus.PASSED, exit_status=0, duration=1.0)),
        )
        for name in ("good", "broken")
    )
    return RunbookVerification("deployment/deploy", "Deploy", "runbooks/deployment/deploy.md", T0, 2.0, cases)
