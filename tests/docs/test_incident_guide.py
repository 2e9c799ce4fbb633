"""The incident response guide, the alert rules and the runbooks agree on severities.

The guide's severity table (docs/incident-response.md) maps each alert `severity` label to a SEV
level; every label the rules use must map to one, and a runbook that answers alerts has the level
of the most severe of them. The guide starts each of the six incident scenarios at its runbook.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pytest

from opsbook.runbook.discover import excluded_names, find_runbooks, load_runbook, runbooks_dir
from opsbook.runbook.model import SEVERITIES, Runbook
from opsbook.site.alerts import AlertRule, load_alert_rules
from tests.support import REPO
from tests.support.runbooks import write_runbook

GUIDE = REPO / "docs" / "incident-response.md"
RULES = REPO / "monitoring" / "prometheus" / "alerts"

SCENARIOS = {
    "Complete outage": "incidents/application-down",
    "Database issues": "incidents/database-issues",
    "Worker queue backed up": "incidents/worker-queue-backed-up",
    "High error rate": "incidents/high-error-rate",
    "Security incident": "incidents/security-incident",
    "Performance degradation": "incidents/performance-degradation",
}
"""Scenario heading of the guide → id of the runbook it starts at (some are still being written)."""


# --- reading the guide -----------------------------------------------------------------------


def _tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of `text`: its rows (header first, the --- row left out) as cells."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.lstrip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def severity_table(text: str) -> tuple[list[str], dict[str, str]]:
    """The levels of the guide's severity table, in order, and alert `severity` label → level.

    The table is the one whose first column is "Level" and which has a column about the alert
    `severity` label; that column's cell names the labels of its row in backticks ("none" when no
    alert has that level)."""
    for rows in _tables(text):
        header = [h.lower() for h in rows[0]]
        label_columns = [i for i, h in enumerate(header) if "severity" in h and "label" in h]
        if header[0] != "level" or len(label_columns) != 1:
            continue
        column = label_columns[0]
        levels: list[str] = []
        mapping: dict[str, str] = {}
        for row in rows[1:]:
            level = row[0].strip("* ")
            assert re.fullmatch(r"SEV\d", level), f"{GUIDE.name}: severity table row {row[0]!r} is not a SEV level"
            levels.append(level)
            for label in re.findall(r"`([^`]+)`", row[column]):
                assert label not in mapping, f"{GUIDE.name}: label `{label}` is given to {mapping[label]} and {level}"
                mapping[label] = level
        return levels, mapping
    raise AssertionError(f"{GUIDE.name} has no severity table (first column Level, a column for the alert "
                         "`severity` label)")


def _section(text: str, heading: str) -> str:
    """The text below the Markdown heading `heading` up to the next heading of its level or higher."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines))
                if re.match(rf"^#{{1,{level}}} ", lines[i])), len(lines))
    return "\n".join(lines[start:end])


# --- the checks ------------------------------------------------------------------------------


def unmapped_severities(rules: Iterable[AlertRule], mapping: Mapping[str, str]) -> list[str]:
    """One line per alert whose `severity` label is missing or maps to no level of the guide."""
    problems = []
    for rule in rules:
        if not rule.severity:
            problems.append(f"{_shown(rule.file)}:{rule.line}: alert {rule.name} has no `severity` label")
        elif rule.severity not in mapping:
            problems.append(f"{_shown(rule.file)}:{rule.line}: alert {rule.name} has `severity: {rule.severity}`, which the severity "
                            f"table of docs/{GUIDE.name} maps to no level (it maps {', '.join(sorted(mapping))})")
    return problems


def severity_disagreements(runbooks: Iterable[Runbook], rules: Sequence[AlertRule],
                           mapping: Mapping[str, str]) -> list[str]:
    """One line per runbook whose `severity:` is not the level of the most severe alert it answers."""
    level_of: dict[str, tuple[str, str]] = {}  # alert → (level, label), the most severe of its rules
    for rule in rules:
        level = mapping.get(rule.severity)
        if level is not None and (rule.name not in level_of
                                  or SEVERITIES.index(level) < SEVERITIES.index(level_of[rule.name][0])):
            level_of[rule.name] = (level, rule.severity)
    problems = []
    for rb in runbooks:
        if not rb.alerts:
            continue
        where = _shown(rb.path)
        known = [a for a in rb.alerts if a in level_of]
        for alert in rb.alerts:
            if alert not in level_of:
                problems.append(f"{where}: alert {alert} has no rule with a mapped `severity` label in "
                                f"{_shown(RULES)}, so the runbook's severity {rb.severity} cannot be checked against it")
        if not known:
            continue
        worst = min(known, key=lambda a: SEVERITIES.index(level_of[a][0]))
        expected, label = level_of[worst]
        if rb.severity != expected:
            problems.append(f"{where}: severity {rb.severity}, but the most severe of its alerts, {worst} "
                            f"(`severity: {label}`), is {expected} in docs/{GUIDE.name}: make the runbook "
                            f"{expected}, or change the alert's label")
    return problems


def _shown(path: Path) -> str:
    path = Path(path)
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)


# --- the project as it is --------------------------------------------------------------------


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def mapping(guide: str) -> dict[str, str]:
    return severity_table(guide)[1]


@pytest.fixture(scope="module")
def rules() -> list[AlertRule]:
    found = load_alert_rules(RULES)
    assert not found.errors, "\n".join(str(e) for e in found.errors)
    assert found.rules, f"no alert rules in {RULES}"
    return found.rules


def test_the_guide_has_a_row_for_each_severity_level_a_runbook_can_have(guide: str):
    levels, mapping = severity_table(guide)
    assert levels == list(SEVERITIES)
    assert set(mapping.values()) < set(SEVERITIES), "one level must be for what no alert pages for"


def test_every_severity_label_of_the_alert_rules_maps_to_a_level(rules: list[AlertRule], mapping: dict[str, str]):
    problems = unmapped_severities(rules, mapping)
    assert not problems, "\n".join(problems)


def test_a_label_the_guide_does_not_map_is_reported_with_its_alerts(rules: list[AlertRule], mapping: dict[str, str]):
    without_warning = {label: level for label, level in mapping.items() if label != "warning"}
    problems = unmapped_severities(rules, without_warning)
    warnings = sorted(r.name for r in rules if r.severity == "warning")
    assert warnings and len(problems) == len(warnings)
    assert all("`severity: warning`" in p for p in problems)
    assert any("alert ElevatedErrorRate " in p and "warning.rules.yml:" in p for p in problems), problems


def test_runbooks_have_the_severity_of_their_most_severe_alert(rules: list[AlertRule], mapping: dict[str, str]):
    catalogue = find_runbooks(runbooks_dir(REPO), excluded_names(REPO))
    assert not catalogue.problems, "runbooks that do not parse cannot be checked:\n" + "\n".join(
        str(p) for p in catalogue.problems)
    assert any(rb.alerts for rb in catalogue.runbooks), "no runbook lists `alerts:`: nothing was checked"
    problems = severity_disagreements(catalogue.runbooks, rules, mapping)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("severity", "alerts", "worst", "expected"), [
    ("SEV3", "[ElevatedErrorRate, WorkerQueueBackedUp]", "WorkerQueueBackedUp (`severity: major`)", "SEV2"),
    ("SEV1", "[WorkerQueueBackedUp]", "WorkerQueueBackedUp (`severity: major`)", "SEV2"),
    ("SEV2", "[WorkerDown, ApplicationDown]", "ApplicationDown (`severity: critical`)", "SEV1"),
], ids=["milder-than-its-alert", "more-severe-than-its-alerts", "one-critical-alert-among-major"])
def test_a_runbook_whose_severity_disagrees_is_named_with_the_alert(tmp_path: Path, rules: list[AlertRule],
                                                                    mapping: dict[str, str], severity: str,
                                                                    alerts: str, worst: str, expected: str):
    path = write_runbook(tmp_path, "incidents/mislabelled", f"severity: {severity}\nalerts: {alerts}\n", "# Mislabelled\n")
    runbook = load_runbook(path, tmp_path / "runbooks")
    problems = severity_disagreements([runbook], rules, mapping)
    assert problems == [f"{path}: severity {severity}, but the most severe of its alerts, {worst}, is {expected} "
                        f"in docs/{GUIDE.name}: make the runbook {expected}, or change the alert's label"]


def test_a_runbook_that_agrees_or_names_no_alert_passes_and_an_unknown_alert_is_reported(
        tmp_path: Path, rules: list[AlertRule], mapping: dict[str, str]):
    agrees = write_runbook(tmp_path, "incidents/agrees", "severity: SEV2\nalerts: [WorkerDown, SlowEndpoint]\n", "# A\n")
    no_alerts = write_runbook(tmp_path, "database/chore", "severity: SEV4\nalerts: []\n", "# B\n")
    unknown = write_runbook(tmp_path, "incidents/unknown", "severity: SEV2\nalerts: [NoSuchAlert]\n", "# C\n")
    runbooks = [load_runbook(p, tmp_path / "runbooks") for p in (agrees, no_alerts, unknown)]
    problems = severity_disagreements(runbooks, rules, mapping)
    assert len(problems) == 1 and problems[0].startswith(f"{unknown}: alert NoSuchAlert has no rule"), problems


def test_the_guide_starts_each_scenario_at_its_runbook(guide: str):
    scenarios = _section(guide, "## Scenarios")
    for title, rid in SCENARIOS.items():
        assert f"\n### {title}\n" in f"\n{scenarios}\n", f"docs/{GUIDE.name} has no scenario `### {title}`"
        text = _section(scenarios, f"### {title}")
        # the runbook's page on the site, which the strict build checks
        assert re.search(rf"Start here: \[[^\]]+\]\(runbooks/{re.escape(rid)}/index\.md\)", text), \
            f"scenario {title!r} of docs/{GUIDE.name} does not start at runbooks/{rid}/index.md"


def test_the_guide_first_sends_a_paged_engineer_to_opsbook_alerts(guide: str):
    first_block = re.search(r"```bash\n(.*?)```", guide, flags=re.DOTALL)
    assert first_block, f"docs/{GUIDE.name} has no command block"
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert len(commands) >= 2 and commands[0].startswith("opsbook alerts") \
        and commands[1].startswith("opsbook run --alert NAME"), commands
