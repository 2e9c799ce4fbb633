"""JUnit XML as CI consumers read it: suites per runbook, steps as testcases, failures explained."""

from __future__ import annotations

from pathlib import Path

import junitparser
import pytest

from opsbook.execute.events import RunResult, RunStatus, StepResult, StepStatus
from opsbook.results.junit import write_junit, xml_text
from opsbook.verify_result import (
    AlertOutcome,
    CaseResult,
    Check,
    Phase,
    RunbookVerification,
    explain_step_failure,
)

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


@pytest.fixture
def xml_file(tmp_path: Path) -> Path:
    return write_junit(tmp_path / "junit.xml", [failing_verification(), passing_two_cases()], hostname="ci")


def test_one_suite_per_runbook_and_counts(xml_file: Path) -> None:
    doc = junitparser.JUnitXml.fromfile(str(xml_file))
    suites = {s.name: s for s in doc}
    assert set(suites) == {"incidents/x", "deployment/deploy"}
    x = suites["incidents/x"]
    # 2 checks before + 4 steps + 1 check after
    assert (x.tests, x.failures, x.errors, x.skipped) == (7, 2, 0, 2)
    names = [c.name for c in x]
    assert names == [
        "inject scenario worker-stuck",
        "alert WorkerQueueBackedUp fires",
        "confirm-backlog",
        "restart-worker",
        "watch-drain",
        "page-owner",
        "alert WorkerQueueBackedUp resolves",
    ]
    assert doc.tests == 9 and doc.failures == 2


def test_failure_names_step_command_status_and_fix(xml_file: Path) -> None:
    doc = junitparser.JUnitXml.fromfile(str(xml_file))
    case = next(c for s in doc for c in s if c.name == "restart-worker")
    (failure,) = case.result
    assert isinstance(failure, junitparser.Failure)
    assert "'restart-worker'" in failure.message
    assert "runbooks/incidents/x.md:40" in failure.message
    assert "exit status 7, expected 0" in failure.message
    assert "$COMPOSE restart worker" in failure.text
    assert "fix:" in failure.text
    assert case.system_out.startswith("restarting")
    assert "\x1b" not in case.system_out and "\x07" not in case.system_out
    assert "red bell" in case.system_out
    assert case.system_err.strip() == "boom"


def test_not_run_and_ci_skip_are_skipped_not_passed(xml_file: Path) -> None:
    doc = junitparser.JUnitXml.fromfile(str(xml_file))
    by_name = {c.name: c for s in doc for c in s}
    (not_run,) = by_name["watch-drain"].result
    assert isinstance(not_run, junitparser.Skipped) and not_run.message.startswith("not run")
    (skipped,) = by_name["page-owner"].result
    assert isinstance(skipped, junitparser.Skipped) and "pages a human" in skipped.message


def test_postcondition_failure_is_a_testcase(xml_file: Path) -> None:
    doc = junitparser.JUnitXml.fromfile(str(xml_file))
    case = next(c for s in doc for c in s if c.name == "alert WorkerQueueBackedUp resolves")
    (failure,) = case.result
    assert "still firing" in failure.message and failure.type == "verification"


def test_cases_of_one_runbook_share_a_suite_with_distinct_classnames(xml_file: Path) -> None:
    doc = junitparser.JUnitXml.fromfile(str(xml_file))
    deploy = next(s for s in doc if s.name == "deployment/deploy")
    assert sorted(c.classname for c in deploy) == ["deployment.deploy[broken]", "deployment.deploy[good]"]
    assert all(c.is_passed for c in deploy)


def test_xml_text_strips_what_xml_cannot_carry() -> None:
    assert xml_text("a\x00b\x1b[1;32mc\x1b[0m\td\x0b") == "abc\td"
