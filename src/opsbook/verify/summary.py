"""The Markdown summary of a verification (`opsbook verify --summary FILE`): one table row per
runbook and case, from status.json entries, for a CI run's page (`$GITHUB_STEP_SUMMARY`) or any
Markdown viewer. Nothing in an entry becomes markup: every cell is escaped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsbook.text import markdown_cell as cell



def _seconds(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def _steps(case: Mapping[str, Any]) -> str:
    steps = case.get("steps") or []
    passed = sum(1 for s in steps if s.get("status") == "passed")
    skipped = sum(1 for s in steps if s.get("status") == "skipped")
    return f"{passed}/{len(steps)}" + (f" ({skipped} skipped)" if skipped else "")


def markdown_summary(runbooks: Mapping[str, Mapping[str, Any]], title: str = "opsbook verify") -> str:
    """The table for these status.json runbook entries (by id), failures first, then by id."""
    rows = []
    failed_cases = total_cases = 0
    order = sorted(runbooks, key=lambda rid: (runbooks[rid].get("result") == "passed", rid))
    for rid in order:
        entry = runbooks[rid]
        for case in entry.get("cases") or []:
            total_cases += 1
            passed = case.get("result") == "passed"
            failed_cases += not passed
            notes = []
            if case.get("scenario"):
                notes.append(f"fault {case['scenario']}")
            for figure in case.get("figures") or []:
                target = f" (target {figure['target']:g})" if isinstance(figure.get("target"), (int, float)) else ""
                notes.append(f"{figure.get('name')} {figure.get('value'):g} {figure.get('unit')}{target}")
            if not passed and case.get("message"):
                notes.append(str(case["message"]).splitlines()[0])
            rows.append(f"| {cell(rid)} | {cell(case.get('case', ''))} | {'✅ passed' if passed else '❌ failed'} "
                        f"| {_steps(case)} | {_seconds(case.get('steps_duration'))} | {cell('; '.join(notes))} |")
    verdict = (f"all {total_cases} cases of {len(runbooks)} runbooks passed" if not failed_cases
               else f"{failed_cases} of {total_cases} cases failed ({len(runbooks)} runbooks)")
    lines = [f"### {cell(title)}: {verdict}", "",
             "| runbook | case | result | steps | time | notes |", "| --- | --- | --- | ---: | ---: | --- |", *rows]
    return "\n".join(lines) + "\n"
