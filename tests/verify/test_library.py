"""The incident library, read without docker: every runbook that names a fault is built so that its
verification can fail. The sandbox runs (make test verifies every runbook) prove the rest."""

from __future__ import annotations

from pathlib import Path

import yaml

from opsbook.runbook.discover import find_runbooks
from opsbook.runbook.model import Role, Runbook
from opsbook.verify.verifier import case_alerts

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = find_runbooks(ROOT / "runbooks")


def _scenario_runbooks() -> list[Runbook]:
    return [rb for rb in CATALOGUE.runbooks if any(case.scenario or rb.scenario for case in rb.verify)]


def test_the_library_reads_without_problems() -> None:
    assert CATALOGUE.problems == [], [str(p) for p in CATALOGUE.problems]
    assert len(_scenario_runbooks()) >= 10


def test_each_fault_runbook_diagnoses_then_remediates_then_verifies() -> None:
    """Diagnosis first (the control runs it on a healthy sandbox), then a fix, then a check of the fix:
    a runbook whose fix is removed then fails at its own verify steps, not only at the verifier's
    postconditions."""
    for runbook in _scenario_runbooks():
        roles = [step.options.role for step in runbook.steps]
        assert Role.DIAGNOSE in roles, f"{runbook.id}: no diagnose step"
        fixes = [i for i, role in enumerate(roles) if role in (Role.REMEDIATE, Role.ROLLBACK)]
        checks = [i for i, role in enumerate(roles) if role is Role.VERIFY]
        assert fixes, f"{runbook.id}: no remediate step"
        assert checks and max(checks) > max(fixes), f"{runbook.id}: no verify step after its last remediation"
        assert roles.index(Role.DIAGNOSE) < min(fixes), f"{runbook.id}: remediates before it diagnoses"


def test_each_case_proves_alerts_its_fault_fires() -> None:
    """A case's alerts must be ones its fault says it fires, or the verification waits for nothing."""
    for runbook in _scenario_runbooks():
        for case in runbook.verify:
            scenario = case.scenario or runbook.scenario
            fault = yaml.safe_load((ROOT / "sandbox" / "faults" / str(scenario) / "fault.yaml").read_text())
            stray = set(case_alerts(runbook, case)) - set(fault.get("alerts") or ())
            assert not stray, f"{runbook.id} [{case.name}]: fault {scenario} does not fire {sorted(stray)}"


def test_no_fault_is_proved_by_two_runbooks() -> None:
    """Each fault is injected by one case of the library: a second would cost a CI minute and prove
    nothing new (a runbook answering the same alert links to the one that proves it)."""
    seen: dict[str, str] = {}
    for runbook in _scenario_runbooks():
        for case in runbook.verify:
            scenario = str(case.scenario or runbook.scenario)
            assert scenario not in seen, f"{scenario}: injected by {seen[scenario]} and {runbook.id} [{case.name}]"
            seen[scenario] = f"{runbook.id} [{case.name}]"
