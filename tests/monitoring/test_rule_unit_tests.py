"""The alert rules' promtool unit tests (monitoring/prometheus/alerts/<category>.test.yml), checked
without docker: they pass, the rule files lint clean, and every alert has a case where it fires and
one where it does not. Only the coverage check runs without promtool (Debian package prometheus)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsbook.sandbox.monitoring import parse_duration

ROOT = Path(__file__).resolve().parents[2]
ALERTS_DIR = ROOT / "monitoring" / "prometheus" / "alerts"
RULES_SUFFIX = ".rules.yml"
TESTS_SUFFIX = ".test.yml"

needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None,
                                    reason="promtool not installed (Debian package prometheus)")


def rule_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{RULES_SUFFIX}"))


def unit_test_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{TESTS_SUFFIX}"))


def unit_test_file_for(rule_file: Path) -> Path:
    """critical.rules.yml → critical.test.yml, beside it."""
    return rule_file.with_name(rule_file.name.removesuffix(RULES_SUFFIX) + TESTS_SUFFIX)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the test files are long


def _load(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Loader) or {}


def _alerts(rule_file: Path) -> dict[str, int]:
    """Alert name → its `for:` in milliseconds (0 without one)."""
    return {rule["alert"]: _ms(rule.get("for", "0s"))
            for group in _load(rule_file).get("groups") or []
            for rule in group.get("rules") or [] if "alert" in rule}


def _ms(duration: object) -> int:
    return 0 if str(duration).strip() == "0" else parse_duration(str(duration))


def coverage_problems(directory: Path) -> list[str]:
    """Why the unit tests in `directory` do not prove every alert of its rule files, one line each
    (empty: they do). Each <category>.rules.yml needs a <category>.test.yml beside it that loads it,
    and for each of its alerts an alert_rule_test where it fires (exp_alerts not empty) and one,
    at an eval_time after the alert's `for:`, where it does not (exp_alerts empty or absent). A test
    file may only name alerts its rule files define: promtool passes `exp_alerts: []` for a name
    it does not know."""
    problems = []
    for rules in rule_files(directory):
        tests = unit_test_file_for(rules)
        if not tests.is_file():
            problems.append(f"{rules.name}: no unit tests beside it ({tests.name})")
            continue
        spec = _load(tests)
        if rules.name not in (spec.get("rule_files") or []):
            problems.append(f"{tests.name}: its rule_files do not load {rules.name}")
        fires: set[str] = set()
        quiet: set[str] = set()
        alerts = _alerts(rules)
        for group in spec.get("tests") or []:
            for case in group.get("alert_rule_test") or []:
                name = case.get("alertname")
                if case.get("exp_alerts"):
                    fires.add(name)
                elif name in alerts and _ms(case.get("eval_time", "0")) > alerts[name]:
                    quiet.add(name)
        for name in alerts:
            if name not in fires:
                problems.append(f"{name} ({rules.name}): no case where it fires (alert_rule_test with exp_alerts)")
            if name not in quiet:
                problems.append(f"{name} ({rules.name}): no case where it does not fire "
                                f"(alert_rule_test with exp_alerts: [] at an eval_time after its for:)")
    for tests in unit_test_files(directory):
        spec = _load(tests)
        loaded = spec.get("rule_files") or []
        if not loaded:
            problems.append(f"{tests.name}: loads no rule file")
        defined = {name for loads in loaded if (directory / loads).is_file() for name in _alerts(directory / loads)}
        for loads in loaded:
            if not (directory / loads).is_file():
                problems.append(f"{tests.name}: no rule file {loads}")
        named = {case.get("alertname") for group in spec.get("tests") or []
                 for case in group.get("alert_rule_test") or []}
        for name in sorted(named - defined, key=str):
            problems.append(f"{tests.name}: tests {name}, which no rule in {', '.join(loaded) or 'it'} defines")
    return problems


def test_every_alert_has_a_firing_and_a_non_firing_case() -> None:
    problems = coverage_problems(ALERTS_DIR)
    assert not problems, "\n".join(problems)
    assert sum(len(_alerts(path)) for path in rule_files(ALERTS_DIR)) >= 40


def test_the_coverage_check_names_an_alert_without_cases(tmp_path: Path) -> None:
    (tmp_path / "demo.rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "demo", "rules": [
        {"alert": "Covered", "expr": "up == 0", "for": "5m"},
        {"alert": "Forgotten", "expr": "up == 2"},
    ]}]}))
    covered = {"name": "Covered", "interval": "1m", "input_series": [{"series": "up", "values": "0x10"}],
               "alert_rule_test": [{"eval_time": "5m", "alertname": "Covered",
                                    "exp_alerts": [{"exp_labels": {}}]}]}
    quiet = {"interval": "1m", "input_series": [{"series": "up", "values": "1x10"}],
             "alert_rule_test": [{"eval_time": "10m", "alertname": "Covered", "exp_alerts": []},
                                 {"eval_time": "10m", "alertname": "Covered"}]}
    (tmp_path / "demo.test.yml").write_text(yaml.safe_dump(
        {"rule_files": ["demo.rules.yml"], "evaluation_interval": "1m", "tests": [covered, quiet]}))
    problems = coverage_problems(tmp_path)
    assert problems == [
        "Forgotten (demo.rules.yml): no case where it fires (alert_rule_test with exp_alerts)",
        "Forgotten (demo.rules.yml): no case where it does not fire "
        "(alert_rule_test with exp_alerts: [] at an eval_time after its for:)",
    ]
    if shutil.which("promtool"):  # promtool itself is content: what it is not asked, it does not check
        done = subprocess.run(["promtool", "test", "rules", "demo.test.yml"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr

    # A quiet case before `for:` has elapsed proves nothing; neither does a name no rule defines.
    quiet["alert_rule_test"] = [{"eval_time": "5m", "alertname": "Covered", "exp_alerts": []},
                                {"eval_time": "1m", "alertname": "Forgotten", "exp_alerts": []},
                                {"eval_time": "10m", "alertname": "Misspelt", "exp_alerts": []}]
    (tmp_path / "demo.test.yml").write_text(yaml.safe_dump(
        {"rule_files": ["demo.rules.yml"], "tests": [covered, quiet]}))
    problems = coverage_problems(tmp_path)
    assert any(p.startswith("Covered (demo.rules.yml): no case where it does not fire") for p in problems)
    assert not any(p.startswith("Forgotten (demo.rules.yml): no case where it does not fire") for p in problems)
    assert "demo.test.yml: tests Misspelt, which no rule in demo.rules.yml defines" in problems

    (tmp_path / "extra.rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [
        {"alert": "Untested", "expr": "vector(1)"}]}]}))
    assert "extra.rules.yml: no unit tests beside it (extra.test.yml)" in coverage_problems(tmp_path)


@needs_promtool
def test_promtool_unit_tests_pass() -> None:
    files = [path.name for path in unit_test_files(ALERTS_DIR)]
    assert files, f"no *{TESTS_SUFFIX} in {ALERTS_DIR}"
    done = subprocess.run(["promtool", "test", "rules", *files], cwd=ALERTS_DIR, capture_output=True, text=True,
                          timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"promtool test rules failed:\n{output}"
    passed = re.findall(r"^Unit Testing:\s+(\S+)\n\s+SUCCESS$", done.stdout, re.MULTILINE)
    assert passed == files, output


@needs_promtool
def test_promtool_check_rules_is_clean() -> None:
    """No error and no lint finding (duplicate rules): only `SUCCESS: N rules found` for each file."""
    paths = rule_files(ALERTS_DIR)
    done = subprocess.run(["promtool", "check", "rules", "--lint=all", "--lint-fatal", *(p.name for p in paths)],
                          cwd=ALERTS_DIR, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert not done.stderr.strip(), output
    expected = []
    for path in paths:
        count = sum(len(group.get("rules") or []) for group in _load(path).get("groups") or [])
        expected += [f"Checking {path.name}", f"  SUCCESS: {count} rules found"]
    assert [line for line in done.stdout.splitlines() if line.strip()] == expected, output
