"""The sandbox's definitions, checked without docker: compose.yaml, alert rules, faults."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from opsbook.runbook.discover import find_runbooks
from opsbook.errors import SandboxError
from opsbook.sandbox import Sandbox
from opsbook.sandbox.faults import load_unit_tested_only
from opsbook.sandbox.images import _dockerfile_facts, build_levels, build_plan
from opsbook.sandbox.settings import PORT_OFFSETS, SandboxSettings, port_variable
from opsbook.site.annotations import readable_summary

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "sandbox"
ALERTS_DIR = ROOT / "monitoring" / "prometheus" / "alerts"
# The alerts the platform's report names, each with the comparison its threshold makes.
PLATFORM_ALERTS = {
    "ApplicationDown": "== 0", "HealthCheckFailing": "== 0", "DatabaseConnectionLost": "== 0", "RedisDown": "== 0",
    "HighErrorRate": "> 0.05", "HighResponseTime": "> 2", "WorkerQueueBackedUp": "> 1000",
    "SlowDatabaseQueries": "> 1", "HighMemoryUsage": "> 0.85", "ElevatedErrorRate": "> 0.01", "SlowEndpoint": "> 1",
    "WorkerJobFailures": "> 0.05", "HighCPUUsage": "> 0.8", "NoUserSignups": "[2h])) == 0",
    "AgentCreationRateDropped": "<", "HighCRMSyncFailures": ">", "HighRateLimitHits": ">",
    "SuspiciousAuthFailures": ">", "UnauthorizedAccessAttempts": ">", "DiskSpaceLow": "< 0.15",
    "FrequentContainerRestarts": ">", "HighNetworkErrors": ">",
}
CATEGORIES = {"critical", "major", "warning", "business", "security", "infrastructure"}


def runbooks_for_alerts() -> dict[str, set[str]]:
    """Alert → the ids of the runbooks whose header says they answer it (`alerts:`)."""
    answered: dict[str, set[str]] = {}
    for runbook in find_runbooks(ROOT / "runbooks").runbooks:
        for alert in runbook.alerts:
            answered.setdefault(alert, set()).add(runbook.id)
    return answered


RUNBOOKS_FOR_ALERT = runbooks_for_alerts()


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((SANDBOX / "compose.yaml").read_text())


def rules() -> list[dict]:  # type: ignore[type-arg]
    found = []
    for path in sorted(ALERTS_DIR.glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found.extend({**rule, "file": path.name} for rule in group["rules"])
    return found


def test_ports_publish_on_loopback_only() -> None:
    for name, spec in compose()["services"].items():
        for port in spec.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_every_long_running_service_has_a_health_check() -> None:
    for name, spec in compose()["services"].items():
        if spec.get("restart") == "no" or "build" in (spec.get("profiles") or []):
            continue
        health = spec.get("healthcheck") or {}
        assert health.get("test") and not health.get("disable"), f"{name} has no health check"


def test_credentials_come_from_required_variables() -> None:
    text = (SANDBOX / "compose.yaml").read_text()
    for key in ("POSTGRES_PASSWORD", "APP_DB_PASSWORD", "REDIS_PASSWORD", "APP_API_TOKEN"):
        uses = re.findall(r"\$\{" + key + r"([^}]*)\}", text)
        assert uses, key
        assert all(u.startswith(":?") for u in uses), f"{key} must use ${{{key}:?message}}"
    assert not re.search(r"(?i)(password|secret|token)\w*\s*[:=]\s*['\"]?[A-Za-z0-9]{6,}", text.replace("${", "{"))


def test_env_example_documents_every_compose_variable() -> None:
    used = set(re.findall(r"\$\{([A-Z_]+)", (SANDBOX / "compose.yaml").read_text()))
    documented = {line.split("=", 1)[0] for line in (SANDBOX / ".env.example").read_text().splitlines()
                  if line and not line.startswith("#")}
    assert used <= documented, f"not in .env.example: {sorted(used - documented)}"
    generated = set(SandboxSettings.generate("x", 20000).compose_variables())
    assert used <= generated, "the generated env file misses a variable compose.yaml needs"
    assert {port_variable(s) for s in PORT_OFFSETS} <= used


def test_images_build_from_debian_and_the_shared_base_first() -> None:
    plan = build_plan(compose(), SANDBOX)
    images = {item.image: item for item in plan}
    assert {i.parent for i in plan} <= {"debian:bookworm-slim", "opsbook-sandbox/python:bookworm"}
    assert {"opsbook-sandbox/app:1.0.0", "opsbook-sandbox/app:1.1.0", "opsbook-sandbox/app:broken"} <= set(images)
    levels = build_levels(plan)
    assert "opsbook-sandbox/python:bookworm" in {i.image for i in levels[0]}
    assert all(i.parent == "opsbook-sandbox/python:bookworm" for i in levels[1])


def test_an_image_is_rebuilt_when_a_file_of_a_continued_copy_line_changes(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "# a comment\nFROM debian:bookworm-slim\nRUN true \\\n && true\n"
        "COPY a.sh \\\n     b.sh /usr/local/bin/\n")
    parent, inputs = _dockerfile_facts(tmp_path / "Dockerfile", tmp_path, {})
    assert parent == "debian:bookworm-slim"
    assert inputs[1:] == [tmp_path / "a.sh", tmp_path / "b.sh"]
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm-slim\nCOPY 'a.sh /x\n")
    with pytest.raises(SandboxError, match=r"Dockerfile:2: cannot read this COPY line"):
        _dockerfile_facts(tmp_path / "Dockerfile", tmp_path, {})


def test_alert_rules_carry_severity_summary_and_runbook_url() -> None:
    seen = set()
    for rule in rules():
        name = rule["alert"]
        assert name not in seen, f"{name} is defined twice"
        seen.add(name)
        labels, annotations = rule["labels"], rule["annotations"]
        assert labels["severity"] in {"critical", "major", "warning"}, name
        assert labels["category"] in CATEGORIES and rule["file"] == f"{labels['category']}.rules.yml", name
        assert labels["service"], name
        for key in ("summary", "description", "threshold", "runbook_url", "dashboard_url"):
            assert str(annotations.get(key, "")).strip(), f"{name} has no {key}"
        # A summary reads as a sentence once Prometheus fills in its values.
        summary = readable_summary(annotations["summary"])
        assert "{{" not in summary and "$" not in summary and summary.rstrip().endswith("."), f"{name}: {summary}"
        assert summary[0].isupper() or summary[0] in "<N", f"{name}: {summary}"
        url = annotations["runbook_url"]
        # The anchor of the alert on the page of a runbook that answers it (the site's strict build
        # checks that the page and anchor exist), or its row of the alerts index while none does.
        expected = {f"https://runbooks.example.com/runbooks/{rid}/#alert-{name.lower()}"
                    for rid in RUNBOOKS_FOR_ALERT.get(name, ())} or {f"https://runbooks.example.com/alerts/#{name.lower()}"}
        assert url in expected, f"{name}: runbook_url {url}, expected one of {sorted(expected)}"
    assert len(seen) >= 40
    assert {r["labels"]["category"] for r in rules()} == CATEGORIES


def test_the_alerts_the_report_names_have_its_thresholds() -> None:
    by_name = {rule["alert"]: rule for rule in rules()}
    missing = set(PLATFORM_ALERTS) - set(by_name)
    assert not missing, f"missing: {sorted(missing)}"
    for name, comparison in PLATFORM_ALERTS.items():
        expr = " ".join(str(by_name[name]["expr"]).split())
        assert comparison in expr, f"{name}: expected `{comparison}` in {expr}"
    assert by_name["NoUserSignups"]["labels"]["category"] == "business"
    assert by_name["HighErrorRate"]["labels"]["severity"] == "major"
    assert by_name["ElevatedErrorRate"]["labels"]["severity"] == "warning"
    assert all(by_name[n]["labels"]["severity"] == "critical"
               for n in ("ApplicationDown", "HealthCheckFailing", "DatabaseConnectionLost", "RedisDown"))


def test_every_alert_has_a_runbook_that_answers_it() -> None:
    """An engineer paged by any alert lands on a runbook, never on "no runbook yet"."""
    without = sorted({r["alert"] for r in rules()} - set(RUNBOOKS_FOR_ALERT))
    assert not without, f"no runbook lists these alerts in its header `alerts:`: {without}"
    unknown = sorted(set(RUNBOOKS_FOR_ALERT) - {r["alert"] for r in rules()})
    assert not unknown, f"runbooks answer alerts that no rule defines: {unknown}"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian package prometheus)")
def test_promtool_accepts_rules_and_config() -> None:
    files = sorted(str(p) for p in ALERTS_DIR.glob("*.rules.yml"))
    done = subprocess.run(["promtool", "check", "rules", *files], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run(["promtool", "check", "config", "--syntax-only",
                           str(ROOT / "monitoring" / "prometheus" / "prometheus.yml")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_fault_is_complete_and_names_existing_alerts() -> None:
    box = Sandbox(ROOT, "opsbook-definitions")
    faults = {f.name: f for f in box.faults()}
    assert {"app-down", "bad-deploy", "db-down", "worker-stuck", "high-error-rate", "slow-queries",
            "connection-exhaustion", "disk-pressure", "leaked-credential"} <= set(faults)
    alert_names = {r["alert"] for r in rules()}
    for fault in faults.values():
        assert fault.summary and fault.symptom and fault.observe, fault.name
        assert set(fault.alerts) <= alert_names, fault.name
        assert fault.alerts or fault.no_alert, f"{fault.name}: no alert, and no_alert does not say why"
        assert os.access(fault.inject_script, os.X_OK) and os.access(fault.heal_script, os.X_OK), fault.name
        for script in (fault.inject_script, fault.heal_script):
            done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
            assert done.returncode == 0, f"{script}: {done.stderr}"


def _compose_binary() -> list[str] | None:
    for argv in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(argv[0]) and subprocess.run([*argv, "version"], capture_output=True).returncode == 0:
            return argv
    return None


@pytest.mark.skipif(_compose_binary() is None, reason="no docker compose on this machine")
def test_missing_secret_stops_compose_with_the_message(tmp_path: Path) -> None:
    variables = SandboxSettings.generate("opsbook-missing", 20000).compose_variables()
    del variables["POSTGRES_PASSWORD"]
    env = {k: v for k, v in os.environ.items() if k not in variables and k != "POSTGRES_PASSWORD"}
    env.update(variables)
    argv = [*_compose_binary(), "-f", str(SANDBOX / "compose.yaml"), "--project-directory", str(tmp_path),  # type: ignore[misc]
            "-p", "opsbook-missing", "config", "--quiet"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode != 0
    assert "POSTGRES_PASSWORD is not set" in done.stderr + done.stdout
    env["POSTGRES_PASSWORD"] = "x" * 24
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_every_alert_is_fired_live_by_a_fault_or_says_why_not() -> None:
    """At least 30 alerts fire live from a fault; each other one is listed with the reason."""
    faults = Sandbox(ROOT, "opsbook-definitions").faults()
    fired = {alert for fault in faults for alert in fault.alerts}
    unit_only = load_unit_tested_only(SANDBOX / "faults")
    names = {r["alert"] for r in rules()}
    assert set(unit_only) <= names, f"unit-tested-only.yaml names no such alert: {sorted(set(unit_only) - names)}"
    assert not fired & set(unit_only), f"fired live and listed as unit-tested only: {sorted(fired & set(unit_only))}"
    unproved = names - fired - set(unit_only)
    assert not unproved, f"no fault fires these and unit-tested-only.yaml does not say why: {sorted(unproved)}"
    assert len(fired) >= 30, f"only {len(fired)} alerts fire live: {sorted(fired)}"


_CREDENTIAL_LITERALS = [
    # key = value / key: value with a literal (not ${VAR}, not a *_file path, not empty)
    re.compile(r"""(?im)^[ \t-]*[\w.-]*(?:password|passwd|secret|token|api_key|apikey)(?![\w.-]*(?:file|path|_name))"""
               r"""[\w.-]*[ \t]*[:=][ \t]*(["']?)(?![$/<{])(?!(?:your|change|example|none|null)\b)"""
               r"""[A-Za-z0-9+/=_.~-]{6,}\1[ \t]*(?:#.*)?$"""),
    re.compile(r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+"),  # a real Slack webhook
    re.compile(r"(?i)bearer[ \t]+[A-Za-z0-9._~+/-]{16,}"),
    re.compile(r"postgres(?:ql)?://[^:\s/]+:[^@\s$]{4,}@"),  # a password inside a connection URL
]


def test_no_credential_literal_in_monitoring_or_sandbox() -> None:
    """Every password, token and webhook URL comes from the environment or a generated file."""
    found = []
    for top in (ROOT / "monitoring", SANDBOX):
        for path in sorted(top.rglob("*")):
            if not path.is_file() or ".state" in path.parts or path.name.startswith(".env") and path.name != ".env.example":
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            for pattern in _CREDENTIAL_LITERALS:
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0).strip()[:60]}")
    assert not found, "credential literals:\n" + "\n".join(found)


def test_the_credential_check_finds_a_literal(tmp_path: Path) -> None:
    hits = [p for p in _CREDENTIAL_LITERALS for text in (
        "smtp_auth_password: hunter2hunter2", "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0123/B0456/abcdef123",
        "Authorization: Bearer abcdefghijklmnop1234", "DATABASE_URL=postgresql://app:s3cretpw@db/app") if p.search(text)]
    assert len(hits) == 4
    assert not any(p.search(text) for p in _CREDENTIAL_LITERALS for text in (
        "APP_DB_PASSWORD: ${APP_DB_PASSWORD:?set it}", "auth_password_file: /run/secrets/smtp_password",
        "SMTP_PASSWORD=", 'password = os.environ["APP_DB_PASSWORD"]'))
