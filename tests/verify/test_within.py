"""A verification case's `within:` limit: parsed with its line, enforced on the steps' wall time,
kept in status.json and JUnit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from opsbook.errors import RunbookFormatError
from opsbook.runbook.discover import load_runbook
from opsbook.runbook.parse import parse_runbook
from opsbook.verify.junit import junit_xml
from opsbook.verify.result import RunbookVerification
from opsbook.verify.status import build_status, read_status, schema, write_status
from opsbook.verify.verifier import Verifier, VerifySettings
from tests.support.file_sandbox import FileSandbox
from tests.support.runbooks import HEADER, write_runbook
from tests.support.verifications import passing_two_cases

CASES = """\
  verify:
    - case: quick
      within: 120
    - case: slow
      within: {within}
"""


def parse(within: str):  # type: ignore[no-untyped-def]
    text = HEADER.format(title="Timed", extra=CASES.format(within=within)) + '\n```bash name="a"\ntrue\n```\n'
    return parse_runbook(text, Path("rb.md"), "t/rb")


def test_within_is_read_as_seconds() -> None:
    runbook = parse("0.5")
    assert [(c.name, c.within) for c in runbook.verify] == [("quick", 120.0), ("slow", 0.5)]
    no_limit = parse_runbook(HEADER.format(title="T", extra="") + '\n```bash name="a"\ntrue\n```\n', Path("rb.md"), "t")
    assert no_limit.verify[0].within is None


@pytest.mark.parametrize("value", ["0", "-3", '"120"', "true", "[120]", "2 minutes", ".inf", "null"])
def test_a_within_that_is_not_a_positive_number_is_an_error_on_its_line(value: str) -> None:
    with pytest.raises(RunbookFormatError) as caught:
        parse(value)
    (problem,) = caught.value.problems
    assert problem.line == 14, "the line of `within:` in the second case"
    assert "`within` of verify case `slow` must be a positive number of seconds" in problem.message
    assert "within: 120" in problem.hint


SLEEPS = """
```bash name="first"
sleep 0.4
```

```bash name="second"
sleep 0.4
```
"""


def verify(tmp_path: Path, within: float, body: str = SLEEPS) -> RunbookVerification:
    path = write_runbook(tmp_path, "timed/sleeps", f"timeout: 20\nverify:\n  - case: sleepy\n    within: {within}",
                         body)
    runbook = load_runbook(path, tmp_path / "runbooks")
    sandbox = FileSandbox(tmp_path / "state", {})
    settings = VerifySettings(root=tmp_path, out=tmp_path / "out", healthy_timeout=1, symptom_timeout=1)
    return Verifier(sandbox, settings).verify(runbook)


@pytest.mark.kernel
def test_a_case_over_its_limit_fails_with_the_time_it_took(tmp_path: Path) -> None:
    verification = verify(tmp_path, 0.5)
    (case,) = verification.cases
    assert not case.passed and case.run is not None and case.run.status.value == "passed"
    assert case.steps_duration is not None and 0.8 <= case.steps_duration < 5
    assert case.message.startswith(f"case sleepy took {case.steps_duration:.1f} s, over its limit of 0.5 s "
                                   "(within: 0.5)")
    (check,) = [c for c in case.checks if c.name == "steps finish within 0.5 s"]
    assert not check.passed and check.duration == case.steps_duration
    # the sandbox reset and what follows the steps are not counted
    assert case.duration > case.steps_duration


@pytest.mark.kernel
def test_a_case_within_its_limit_passes_and_records_its_time(tmp_path: Path) -> None:
    verification = verify(tmp_path, 30)
    (case,) = verification.cases
    assert case.passed, case.message
    assert case.within == 30 and case.steps_duration is not None and case.steps_duration >= 0.8
    doc = build_status([verification], commit=None)
    entry = doc["runbooks"]["timed/sleeps"]["cases"][0]
    assert entry["within"] == 30 and entry["steps_duration"] == round(case.steps_duration, 3)


@pytest.mark.kernel
def test_a_failing_step_is_the_reason_not_the_time(tmp_path: Path) -> None:
    verification = verify(tmp_path, 0.1, body=SLEEPS + '\n```bash name="breaks"\nexit 4\n```\n')
    (case,) = verification.cases
    assert not case.passed and "step 'breaks'" in case.message
    assert not any(c.name.startswith("steps finish within") for c in case.checks)


def test_status_json_keeps_the_time_and_limit_and_reads_them_back(tmp_path: Path) -> None:
    base = passing_two_cases()
    quick, slow = base.cases
    timed = replace(base, cases=(replace(quick, steps_duration=38.4321, within=120.0),
                                 replace(slow, steps_duration=131.0, within=120.0)))
    doc = build_status([timed], commit="abc", generated_at="2026-12-02T10:00:00+00:00")
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(doc)
    path = write_status(tmp_path / "status.json", doc)
    cases = json.loads(path.read_text())["runbooks"]["deployment/deploy"]["cases"]
    assert [(c["steps_duration"], c["within"]) for c in cases] == [(38.432, 120.0), (131.0, 120.0)]
    status = read_status(path)
    assert status is not None
    good, broken = status.runbooks["deployment/deploy"].cases
    assert (good.steps_duration, good.within, good.over_limit) == (38.432, 120.0, False)
    assert broken.over_limit
    untimed = build_status([base], commit=None)
    assert "within" not in json.dumps(untimed), "a case without a limit writes no limit: older readers agree"
    doc["runbooks"]["deployment/deploy"]["cases"][0]["within"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema()).validate(doc)


def test_junit_names_the_limit_and_the_time() -> None:
    base = passing_two_cases()
    timed = replace(base, cases=(replace(base.cases[0], steps_duration=38.4, within=120.0), base.cases[1]))
    suite = ET.fromstring(junit_xml([timed], hostname="ci")).find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["case:good:steps_duration"] == "38.400" and props["case:good:within"] == "120"
    assert "case:broken:within" not in props
