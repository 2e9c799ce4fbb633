"""Read Prometheus alerting rules (name, severity, runbook_url, file and line) for the site."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from opsbook.errors import AlertRulesError


@dataclass(frozen=True)
class AlertRule:
    """One `alert:` rule; `line` is where its `alert:` key is in `file`."""

    name: str
    file: Path
    line: int
    severity: str = ""
    summary: str = ""
    runbook_url: str = ""

    @property
    def anchor(self) -> str:
        return alert_anchor(self.name)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def alert_anchor(name: str) -> str:
    """The anchor of an alert on the alerts index; runbook pages prefix it with `alert-`."""
    return name.lower()


def rule_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())


def load_alert_rules(directory: Path) -> tuple[list[AlertRule], list[AlertRulesError]]:
    """Every alerting rule in the *.yml / *.yaml files of `directory`, and the files that failed."""
    rules: list[AlertRule] = []
    errors: list[AlertRulesError] = []
    for path in rule_files(directory):
        try:
            rules.extend(read_rule_file(path))
        except AlertRulesError as exc:
            errors.append(exc)
    return rules, errors


def read_rule_file(path: Path) -> list[AlertRule]:
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise AlertRulesError(f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    except OSError as exc:
        raise AlertRulesError(f"{path}:1: cannot read: {exc.strerror}") from exc
    if root is None:
        return []
    groups = _get(root, "groups")
    if not isinstance(groups, yaml.SequenceNode):
        raise AlertRulesError(f"{path}:{root.start_mark.line + 1}: expected a `groups:` list of rule groups")
    rules: list[AlertRule] = []
    for group in groups.value:
        group_rules = _get(group, "rules")
        if not isinstance(group_rules, yaml.SequenceNode):
            continue
        for rule in group_rules.value:
            name_node = _get(rule, "alert")
            if not isinstance(name_node, yaml.ScalarNode):
                continue  # a recording rule
            labels = _get(rule, "labels")
            annotations = _get(rule, "annotations")
            rules.append(AlertRule(
                name=str(name_node.value),
                file=path,
                line=name_node.start_mark.line + 1,
                severity=_scalar(_get(labels, "severity")),
                summary=readable_summary(_scalar(_get(annotations, "summary"))),
                runbook_url=_scalar(_get(annotations, "runbook_url")).strip(),
            ))
    return rules


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


TEMPLATE = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")


def readable_summary(summary: str) -> str:
    """A rule's summary for readers: `{{ $value }}` → `N`, `{{ $labels.job }}` → `<job>`."""

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1)
        label = re.search(r"\$labels\.(\w+)", expression)
        if label:
            return f"<{label.group(1)}>"
        return "N" if "$value" in expression else "…"

    return TEMPLATE.sub(replace, summary)


def _scalar(node: yaml.Node | None) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else ""
