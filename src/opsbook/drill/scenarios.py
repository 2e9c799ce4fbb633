"""The scenarios a drill can use: the faults the incident library's verification cases inject."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from opsbook.runbook.model import Runbook, VerifyCase


@dataclass(frozen=True)
class LibraryCase:
    """One verification case of a runbook that injects a fault: what `--auto` runs for that fault."""

    runbook: Runbook
    case: VerifyCase
    scenario: str
    alerts: tuple[str, ...]  # the alerts the case proves (its own, else the runbook's)

    @property
    def label(self) -> str:
        return f"{self.runbook.id} (case {self.case.name})"


def library_cases(runbooks: Iterable[Runbook]) -> list[LibraryCase]:
    """Every case of `runbooks` that names a scenario, by runbook id and then in the runbook's order."""
    from opsbook.verify.verifier import case_alerts  # verification's rule; its module is heavy to import

    cases = []
    for runbook in sorted(runbooks, key=lambda rb: rb.id):
        for case in runbook.verify:
            scenario = case.scenario or runbook.scenario
            if scenario:
                cases.append(LibraryCase(runbook, case, scenario, case_alerts(runbook, case)))
    return cases


def library_scenarios(cases: Iterable[LibraryCase], known_faults: Iterable[str]) -> list[str]:
    """The faults the cases inject that the sandbox has, sorted, each once."""
    known = set(known_faults)
    return sorted({c.scenario for c in cases if c.scenario in known})


def case_for(cases: Sequence[LibraryCase], scenario: str) -> LibraryCase | None:
    """The case that answers `scenario`: the first that injects it (runbook id order), or None."""
    return next((c for c in cases if c.scenario == scenario), None)


def pick_scenario(scenarios: Sequence[str], rng: random.Random | None = None) -> str:
    """One of `scenarios`, at random (a system source unless a test gives one)."""
    if not scenarios:
        raise ValueError("no scenario to pick from")
    return (rng or random.SystemRandom()).choice(list(scenarios))
