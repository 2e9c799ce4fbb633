"""Runbook files for tests: the YAML header of a minimal runbook, and a writer of whole files."""

from __future__ import annotations

import textwrap
from pathlib import Path

from opsbook.runbook.discover import find_runbooks

HEADER = """\
---
jupyter:
  kernelspec:
    name: opsbook-bash
    display_name: opsbook (bash)
    language: bash
opsbook:
  format: 1
  title: {title}
{extra}---
"""


def write_runbook(folder: Path, rid: str, header: str, body: str, title: str = "Test runbook") -> Path:
    """A runbook file at folder/runbooks/<rid>.md; `header` is extra `opsbook:` keys (indented 2)."""
    path = folder / "runbooks" / f"{rid}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = textwrap.indent(textwrap.dedent(header).strip("\n"), "  ") + "\n" if header.strip() else ""
    path.write_text(HEADER.format(title=title, extra=extra) + "\n" + textwrap.dedent(body).lstrip("\n"))
    return path


def faults_proved_by_runbooks(runbooks: Path) -> dict[str, set[str]]:
    """Fault → the alerts that the verification of runbook cases injecting it proves. Verification
    checks that the fault's symptom shows and those alerts fire, and that the runbook removes
    both; a test that injected the fault again for the same alerts would prove the same thing twice."""
    proved: dict[str, set[str]] = {}
    for runbook in find_runbooks(runbooks).runbooks:
        for case in runbook.verify:
            scenario = case.scenario or runbook.scenario
            if scenario:
                proved.setdefault(scenario, set()).update(runbook.alerts if case.alerts is None else case.alerts)
    return proved
