"""JUnit XML as CI consumers read it: suites per runbook, steps as testcases, failures explained."""

from __future__ import annotations

from pathlib import Path

import junitparser
import pytest

from opsbook.run.events import StepResult, StepStatus
from opsbook.verify.junit import write_junit, xml_text
from opsbook.verify.result import explain_step_failure
from tests.support.verifications import failing_verification, passing_two_cases

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
