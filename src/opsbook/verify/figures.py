"""Measured figures a step reports, for status.json and the runbook's page: a line of its output

    figure: NAME VALUE UNIT [target TARGET]         e.g.  figure: RTO 41.7 s target 3600

NAME is a word (letters, digits, `_`, `-`), VALUE and TARGET are numbers, UNIT a short word
(`s`, `ms`, `%`, `rows` ...). Anything else on a line starting `figure:` is not a figure and is
left alone, so nothing a command prints becomes one by accident but a line made for it. The last
report of a name in a case wins (a retried step reports again).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FIGURE_LINE = re.compile(
    r"^figure: (?P<name>[A-Za-z][A-Za-z0-9_-]{0,39}) (?P<value>-?\d+(?:\.\d+)?) (?P<unit>[A-Za-z%/]{1,12})"
    r"(?: target (?P<target>-?\d+(?:\.\d+)?))?\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: float | None = None
    step: str = ""

    @property
    def over_target(self) -> bool:
        return self.target is not None and self.value > self.target

    def entry(self) -> dict[str, Any]:
        """Its status.json form."""
        entry: dict[str, Any] = {"name": self.name, "value": self.value, "unit": self.unit, "step": self.step}
        if self.target is not None:
            entry["target"] = self.target
        return entry


def figures_in(output: str, step: str = "") -> list[Figure]:
    """The figures one step's output reports, in order."""
    return [Figure(m["name"], float(m["value"]), m["unit"], float(m["target"]) if m["target"] else None, step)
            for m in FIGURE_LINE.finditer(output)]


def case_figures(steps: Iterable[tuple[str, str]]) -> list[Figure]:
    """The figures of a case from (step name, output) pairs: one per name, the last reported."""
    found: dict[str, Figure] = {}
    for step, output in steps:
        for figure in figures_in(output, step):
            found.pop(figure.name, None)
            found[figure.name] = figure
    return list(found.values())


def figure_from_entry(entry: Mapping[str, Any]) -> Figure:
    """A figure read back from status.json (ValueError when it is not one)."""
    name, unit = str(entry["name"]), str(entry["unit"])
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,39}", name) or not re.fullmatch(r"[A-Za-z%/]{1,12}", unit):
        raise ValueError(f"not a figure name and unit: {name!r} {unit!r}")
    target = entry.get("target")
    return Figure(name, _number(entry["value"]), unit, None if target is None else _number(target),
                  str(entry.get("step", "")))


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"a figure's value must be a number, not {value!r}")
    return float(value)


def describe(figure: Figure) -> str:
    """`RTO 41.7 s (target 3600 s)`: plain text, no markup."""
    value = f"{figure.value:g}"
    text = f"{figure.name} {value} {figure.unit}"
    if figure.target is not None:
        text += f" (target {figure.target:g} {figure.unit}{', over it' if figure.over_target else ''})"
    return text
