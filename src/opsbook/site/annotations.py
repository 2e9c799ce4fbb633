"""Prometheus annotation templates (`{{ ... }}`) as the site shows and checks them.

Prometheus expands an annotation when an alert fires, with `$labels` holding the labels of the
series the expression returned: `alertname` and the rule's own `labels:` are added to the alert
only afterwards, so `{{ $labels.alertname }}` in a runbook_url is empty unless the expression's
series carry such a label (prometheus/prometheus#2818, #2454). A runbook_url written that way
therefore does not lead to the runbook its author meant; the site says so and offers the URL
written out. What only Prometheus knows when the alert fires (`$externalURL`, `$externalLabels`,
other series labels, `$value`) cannot be checked when the site is built.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

TEMPLATE = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_LABEL = re.compile(r"""^(?:\$labels|\.Labels)\.(\w+)$|^index\s+(?:\$labels|\.Labels)\s+"(\w+)"$""")
_STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"$|^`([^`]*)`$')
_COMMENT = re.compile(r"^/\*.*\*/$", re.DOTALL)
_FUNCTIONS: dict[str, Callable[[str], str]] = {
    "toLower": str.lower, "lower": str.lower, "toUpper": str.upper, "upper": str.upper,
}


def readable_summary(summary: str) -> str:
    """A rule's summary for readers: `{{ $value }}` → `N`, `{{ $labels.job }}` → `<job>`."""

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1)
        label = re.search(r"\$labels\.(\w+)", expression)
        if label:
            return f"<{label.group(1)}>"
        return "N" if "$value" in expression else "…"

    return TEMPLATE.sub(replace, summary)


@dataclass(frozen=True)
class UrlTemplate:
    """What can be known of a templated runbook_url before Prometheus expands it."""

    meant: str | None
    """The URL with the rule's own name and labels written in (None: it needs more than those)."""
    rule_values: tuple[str, ...]
    """Actions that read the alert name or a rule label from `$labels`, where Prometheus has neither."""
    unknown: tuple[str, ...]
    """Actions whose value only Prometheus knows when the alert fires."""

    @property
    def is_static(self) -> bool:
        """Every action has one value whatever fires (string literals, comments): `meant` is the URL."""
        return not self.rule_values and not self.unknown and self.meant is not None


def url_template(url: str, alert: str, labels: Mapping[str, str]) -> UrlTemplate | None:
    """Read the `{{ ... }}` actions of a runbook_url (None when it has none)."""
    if not TEMPLATE.search(url):
        return None
    rule_values: list[str] = []
    unknown: list[str] = []
    expandable = True

    def expand(match: re.Match[str]) -> str:
        nonlocal expandable
        action = match.group(1).strip()
        if _COMMENT.match(action):
            return ""
        operand, *functions = [part.strip() for part in action.split("|")]
        value = _operand(operand, alert, labels)
        if value is None:
            unknown.append(match.group(0))
            return match.group(0)
        if _LABEL.match(operand):
            rule_values.append(match.group(0))
        for function in functions:
            if function not in _FUNCTIONS:
                expandable = False  # e.g. reReplaceAll: not evaluated here
                return match.group(0)
            value = _FUNCTIONS[function](value)
        return value

    expanded = TEMPLATE.sub(expand, url)
    meant = expanded if expandable and not unknown else None
    return UrlTemplate(meant=meant, rule_values=tuple(rule_values), unknown=tuple(unknown))


def _operand(operand: str, alert: str, labels: Mapping[str, str]) -> str | None:
    """The value the author meant for an action's first word, or None if only Prometheus knows it."""
    string = _STRING.match(operand)
    if string:
        return string.group(1) if string.group(1) is not None else string.group(2)
    label = _LABEL.match(operand)
    if label:
        name = label.group(1) or label.group(2)
        if name == "alertname":
            return alert
        value = labels.get(name)
        return value if value is not None and not TEMPLATE.search(value) else None
    return None
