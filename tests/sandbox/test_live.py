"""The real sandbox (docker compose): health, API, worker, metrics, faults, alerts, reset."""

from __future__ import annotations

import http.client as http_client
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsbook.sandbox import Sandbox
from tests.support.runbooks import faults_proved_by_runbooks
from tests.support.waiting import eventually

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parents[2]
FAULTS = sorted(p.name for p in (ROOT / "sandbox" / "faults").iterdir() if (p / "fault.yaml").is_file())
# A fault an incident runbook's verification injects is proved there (symptom, alerts, and their end
# after the runbook's remediation; `make test` verifies every runbook) if the cases that inject it
# prove every alert it fires: this file proves the rest.
PROVED_BY_RUNBOOKS = faults_proved_by_runbooks(ROOT / "runbooks")


def _fault_alerts(name: str) -> set[str]:
    return set(yaml.safe_load((ROOT / "sandbox" / "faults" / name / "fault.yaml").read_text()).get("alerts") or ())


LIVE_FAULTS = [f for f in FAULTS if not _fault_alerts(f) <= PROVED_BY_RUNBOOKS.get(f, set())]


def sh(script: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """A step as a runbook would run it: bash, strict mode, from an unrelated folder."""
    done = subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=env, capture_output=True, text=True,
                          cwd="/", timeout=120)
    if check:
        assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done


def http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body or b"null")
        except ValueError:  # the proxy's own HTML 503 while no slot is up: not the app's answer
            return exc.code, None
    except (OSError, http_client.HTTPException):  # not listening (yet): a restart in progress
        return 0, None




def test_every_service_is_healthy_and_published_on_loopback(sandbox: Sandbox) -> None:
    assert sandbox.healthy()
    states = {s.service: s for s in sandbox.status()}
    assert states["migrate"].exit_code == 0
    for name in ("app", "worker", "postgres", "redis", "prometheus", "alertmanager", "notification-sink"):
        assert states[name].ready, states[name]
        assert states[name].ports and all(p.startswith("127.0.0.1:") for p in states[name].ports)


def test_health_endpoint_reports_version_and_checks(sandbox: Sandbox) -> None:
    status, body = http("GET", sandbox.env()["APP_URL"] + "/api/health")
    assert status == 200
    assert body["status"] == "ok" and body["version"] == "1.0.0"
    assert {"database", "schema", "redis"} <= set(body["checks"])


def test_api_and_worker_round_trip(sandbox: Sandbox, shell_env: dict[str, str]) -> None:
    env = sandbox.env()
    token = env["APP_API_TOKEN"]
    assert http("POST", env["APP_URL"] + "/api/agents", {"name": "x"})[0] == 401
    status, agent = http("POST", env["APP_URL"] + "/api/agents", {"name": "round-trip", "owner": "tests"}, token)
    assert status == 201 and agent["name"] == "round-trip"
    assert http("GET", f"{env['APP_URL']}/api/agents/{agent['id']}")[1]["owner"] == "tests"
    status, job = http("POST", env["APP_URL"] + "/api/jobs", {"kind": "echo", "agent_id": agent["id"],
                                                             "payload": {"hello": "world"}}, token)
    assert status == 202
    done = eventually(lambda: http("GET", f"{env['APP_URL']}/api/jobs/{job['id']}")[1]["status"] == "succeeded", 20)
    assert done, "the worker did not process the job"
    row = sh(f"psql \"$DATABASE_URL\" -XAtc \"select status, result->'echo'->>'hello' from job_results "
             f"where job_id = '{job['id']}'\"", shell_env).stdout.strip()
    assert row == "succeeded|world"
    assert http("DELETE", f"{env['APP_URL']}/api/agents/{agent['id']}", token=token)[0] == 204


def test_metrics_of_app_and_worker_and_prometheus_targets(sandbox: Sandbox) -> None:
    env = sandbox.env()
    app_metrics = urllib.request.urlopen(env["APP_URL"] + "/metrics", timeout=5).read().decode()
    for needle in ('opsbook_app_info{version="1.0.0"} 1', "opsbook_http_requests_total{",
                   "opsbook_http_request_duration_seconds_bucket{", 'opsbook_db_pool_connections{state="in_use"}',
                   'opsbook_health_check_ok{check="all"} 1'):
        assert needle in app_metrics, needle
    worker_metrics = urllib.request.urlopen(env["WORKER_URL"] + "/metrics", timeout=5).read().decode()
    for needle in ("opsbook_worker_queue_depth", "opsbook_worker_jobs_processed_total"):
        assert needle in worker_metrics, needle
    targets = json.load(urllib.request.urlopen(env["PROMETHEUS_URL"] + "/api/v1/targets", timeout=5))
    health = {t["labels"]["job"]: t["health"] for t in targets["data"]["activeTargets"]}
    assert set(health.values()) == {"up"}, health
    assert {"app", "worker", "postgres", "redis", "node"} <= set(health)


def test_runbook_commands_work_with_the_exported_env(sandbox: Sandbox, shell_env: dict[str, str]) -> None:
    out = sh("""
        $COMPOSE ps worker | grep -q Up || $COMPOSE ps worker | grep -qi running
        curl -fsS "$APP_URL/api/health" | jq -e '.status == "ok"' >/dev/null
        psql "$DATABASE_URL" -XAtc 'select 42'
        redis-cli -u "$REDIS_URL" --no-auth-warning ping
        curl -fsS "$ALERTMANAGER_URL/api/v2/status" | jq -r '.cluster.status // "ok"' >/dev/null
        curl -fsS "$NOTIFICATION_SINK_URL/notifications" | jq -e '.notifications | type == "array"' >/dev/null
        echo "compose: $COMPOSE"
    """, shell_env).stdout
    assert "42" in out and "PONG" in out


def test_deploy_and_rollback_with_plain_compose(sandbox: Sandbox, shell_env: dict[str, str]) -> None:
    env = sandbox.env()
    try:
        sh("APP_VERSION=1.1.0 $COMPOSE up -d --no-deps app", shell_env)
        assert eventually(lambda: _health(env) == ("ok", "1.1.0"), 60)
        sh("APP_VERSION=broken $COMPOSE up -d --no-deps app", shell_env)
        assert eventually(lambda: http("GET", env["APP_URL"] + "/api/health")[0] == 503, 60)
    finally:
        sh("APP_VERSION=1.0.0 $COMPOSE up -d --no-deps app", shell_env)
        sandbox.wait_healthy(60)
    assert http("GET", env["APP_URL"] + "/api/health")[1]["version"] == "1.0.0"


@pytest.mark.parametrize("name", LIVE_FAULTS)
def test_fault_shows_its_symptom_fires_its_alerts_and_heals(sandbox: Sandbox, name: str) -> None:
    fault = sandbox.fault(name)
    sandbox.reset()
    # Alerts left over from an earlier fault must be gone, or "fired" would prove nothing.
    assert sandbox.wait_alerts(fault.alerts, firing=False, timeout=90) == set(fault.alerts)
    assert not sandbox.observe(name), "symptom visible before the fault"

    sandbox.inject(name)
    assert eventually(lambda: sandbox.observe(name), 30, 1), f"{name}: symptom not observed: {fault.symptom}"
    fired = sandbox.wait_alerts(fault.alerts, firing=True, timeout=60)
    assert fired == set(fault.alerts), f"{name}: only {sorted(fired)} of {fault.alerts} fired"
    for alert in fault.alerts if fault.notified else ():
        if not _inhibited(alert, fault.alerts):
            assert eventually(lambda: sandbox.notifications(alertname=alert, status="firing"), 60, 1), \
                f"{alert} did not reach the notification sink; Alertmanager holds: {_alertmanager_view(sandbox)}; " \
                f"the receiver recorded: {[(n.get('receiver'), n.get('status')) for n in sandbox.notifications()]}"

    sandbox.heal(name)
    assert eventually(lambda: not sandbox.observe(name), 30, 1), f"{name}: symptom still visible after heal"
    resolved = sandbox.wait_alerts(fault.alerts, firing=False, timeout=90)
    assert resolved == set(fault.alerts), f"{name}: still firing: {sorted(set(fault.alerts) - resolved)}"
    sandbox.wait_healthy(60)


def test_alertmanager_forgets_silences_and_past_notifications_on_reset(sandbox: Sandbox) -> None:
    """A reset gives the next runbook an Alertmanager that has notified nothing and silences nothing.
    Left over, a silence hides its alerts, and a resolution that was muted is never logged, so
    the same alert firing again stays unannounced for repeat_interval (1 h). The alert is pushed
    to Alertmanager as Prometheus would send it (the fault behind it is the runbooks' to test)."""
    from tests.sandbox.test_notifications_live import push, synthetic

    env = sandbox.env()
    sandbox.reset()
    alert = synthetic("HighErrorRate")
    push(sandbox, [alert])
    assert eventually(lambda: sandbox.notifications(alertname="HighErrorRate", status="firing"), 60, 1)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    status, silence = http("POST", env["ALERTMANAGER_URL"] + "/api/v2/silences", {
        "matchers": [{"name": "alertname", "value": "HighErrorRate", "isRegex": False}],
        "startsAt": now, "endsAt": later, "createdBy": "tests", "comment": "mute the resolution"})
    assert status == 200, silence
    push(sandbox, [alert], resolved=True)

    sandbox.reset()
    assert not sandbox.notifications(alertname="HighErrorRate"), "the reset left the sink's records"
    push(sandbox, [alert])
    try:
        assert eventually(lambda: sandbox.notifications(alertname="HighErrorRate", status="firing"), 60, 1), \
            f"the second firing was not notified; Alertmanager holds: {_alertmanager_view(sandbox)}"
    finally:
        push(sandbox, [alert], resolved=True)


def _health(env: dict[str, str]) -> tuple[str, str]:
    body = http("GET", env["APP_URL"] + "/api/health")[1] or {}
    return body.get("status", ""), body.get("version", "")


def _alertmanager_view(sandbox: Sandbox) -> list[tuple[str, str, list[str], list[str]]]:
    """(alert, state, inhibited by, silenced by) as Alertmanager sees them."""
    body = json.load(urllib.request.urlopen(sandbox.env()["ALERTMANAGER_URL"] + "/api/v2/alerts", timeout=5))
    return [(a["labels"]["alertname"], a["status"]["state"], a["status"]["inhibitedBy"], a["status"]["silencedBy"])
            for a in body]


def _inhibited(alert: str, together: tuple[str, ...]) -> bool:
    """Alertmanager's inhibit rules (monitoring/alertmanager) silence these while their cause fires."""
    causes = {"HealthCheckFailing": {"DatabaseConnectionLost", "RedisDown", "ApplicationDown"},
              "ElevatedErrorRate": {"HighErrorRate", "ApplicationDown"}}
    if causes.get(alert, set()) & set(together):
        return True
    # A critical alert silences the major and warning alerts of its service.
    labels = _rule_labels()
    mine = labels.get(alert, {})
    return mine.get("severity") in ("major", "warning") and any(
        labels.get(other, {}).get("severity") == "critical" and labels[other].get("service") == mine.get("service")
        for other in together)


def _rule_labels() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for path in (ROOT / "monitoring" / "prometheus" / "alerts").glob("*.rules.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found.update({r["alert"]: r.get("labels", {}) for r in group["rules"] if "alert" in r})
    return found


def test_reset_returns_to_a_clean_state(sandbox: Sandbox, shell_env: dict[str, str]) -> None:
    env = sandbox.env()
    for name in ("disk-pressure", "high-error-rate", "bad-deploy", "worker-stuck"):  # worker last: it stops the worker
        sandbox.inject(name)
    sandbox.reset()  # how long it takes is measured by bench/bench_sandbox.py
    assert sandbox.healthy()
    assert sandbox.active_faults() == []
    body = http("GET", env["APP_URL"] + "/api/health")[1]
    assert body["status"] == "ok" and body["version"] == "1.0.0"
    assert http("GET", env["APP_URL"] + "/api/agents")[0] == 200
    assert int(sh('redis-cli -u "$REDIS_URL" --no-auth-warning llen jobs', shell_env).stdout) < 20
    used = sh("$COMPOSE exec -T worker df --output=pcent /var/spool/opsbook | tail -n 1", shell_env).stdout
    assert int(used.strip().rstrip("%")) < 50


def test_env_and_status_from_the_cli(sandbox: Sandbox) -> None:
    cli = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()", "sandbox"]
    exported = subprocess.run([*cli, "env", "--project", sandbox.project], capture_output=True, text=True,
                              cwd=ROOT, check=True).stdout
    assert all(line.startswith("export ") for line in exported.splitlines())
    out = subprocess.run(["bash", "-c", exported + '\ncurl -fsS "$APP_URL/api/health"'], capture_output=True,
                         text=True, check=True, cwd="/").stdout
    assert json.loads(out)["status"] == "ok"
    status = subprocess.run([*cli, "status", "--project", sandbox.project, "--json"], capture_output=True,
                            text=True, cwd=ROOT)
    assert status.returncode == 0 and json.loads(status.stdout)["healthy"] is True
    unknown = subprocess.run([*cli, "fault", "no-such-fault", "--project", sandbox.project], capture_output=True,
                             text=True, cwd=ROOT)
    assert unknown.returncode == 2 and "unknown fault" in unknown.stderr


def test_a_second_project_runs_beside_the_first(sandbox: Sandbox) -> None:
    other = Sandbox(ROOT, sandbox.project + "-b")
    try:
        settings = other._ensure_settings()
        assert set(settings.ports.values()).isdisjoint(sandbox.settings().ports.values())
        other._compose("up", "-d", "--no-deps", "redis")
        other._wait_services(["redis"], timeout=60)
        env_b = {**other.env()}
        pong = sh('redis-cli -u "$REDIS_URL" --no-auth-warning ping', {**os.environ, **env_b})
        assert pong.stdout.strip() == "PONG"
        assert sandbox.healthy(), "starting a second project disturbed the first"
    finally:
        other.down()
        other.env_file.unlink(missing_ok=True)
