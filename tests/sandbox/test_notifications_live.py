"""Real notifications in the session sandbox: Alertmanager delivers to the notification sink by
email (SMTP, STARTTLS, AUTH), Slack's API and the pager webhook; routing, inhibition, resolution,
escaping and the runbook links are checked on what arrived, and `opsbook sandbox notifications` shows it.

The alerts are synthetic (POST /api/v2/alerts) with the labels and annotations of real rules, so
no fault has to be injected again; each carries `opsbook_test=<run id>`, which makes it a new
alert even where an earlier run notified the same rule, and each is resolved at the end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from opsbook.sandbox import Sandbox
from tests.support.alertmanager import expected_receivers, sandbox_env
from tests.support.site import mkdocs_build
from tests.support.waiting import eventually

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parents[2]
RUN = uuid.uuid4().hex[:10]
CHANNEL_OF = {"oncall-pager": "pager", "oncall-chat": "slack", "team-email": "email", "security-email": "email",
              "product-email": "email"}
EMAIL_TO = {"team-email": "EMAIL_TEAM_TO", "security-email": "EMAIL_SECURITY_TO", "product-email": "EMAIL_PRODUCT_TO"}
# Rules whose alerts test routing: a critical, a major, a warning, a security and a business one,
# on services where none inhibits another (a critical alert silences its service's lesser ones).
ROUTED = ("RedisDown", "WorkerQueueBackedUp", "DatabaseDeadlocks", "SuspiciousAuthFailures", "AgentCreationRateDropped")
SYMPTOMS = ("HealthCheckFailing", "HighErrorRate", "ElevatedErrorRate", "HighResponseTime", "SlowEndpoint")
SETTLE = 3  # seconds: past the next group_interval (2 s) tick, when a notification would have been sent


def rules() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted((ROOT / "monitoring" / "prometheus" / "alerts").glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found.update({rule["alert"]: rule for rule in group["rules"]})
    return found


RULES = rules()


def _expand(text: str, labels: dict[str, str]) -> str:
    """A rule's annotation as Prometheus would fill it in, near enough: $labels.x, $value."""
    text = re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels.get(m.group(1), "sandbox"), text)
    return re.sub(r"\{\{[^}]*\}\}", "42", text)


def synthetic(name: str, **annotations: str) -> dict[str, Any]:
    rule = RULES[name]
    labels = {**{k: str(v) for k, v in rule["labels"].items()}, "alertname": name, "opsbook_test": RUN}
    filled = {k: _expand(str(v), labels) for k, v in rule["annotations"].items()}
    return {"labels": labels, "annotations": {**filled, **annotations},
            "generatorURL": f"http://prometheus.sandbox.opsbook.test/graph?alert={name}"}


def _when(offset_seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=offset_seconds)).isoformat(timespec="seconds")


def push(sandbox: Sandbox, alerts: list[dict[str, Any]], *, resolved: bool = False) -> None:
    """Firing until 10 minutes from now, or resolved a second ago (what Prometheus sends)."""
    body = [{**a, "startsAt": _when(-60), "endsAt": _when(-1 if resolved else 600)} for a in alerts]
    request = urllib.request.Request(sandbox.env()["ALERTMANAGER_URL"] + "/api/v2/alerts", method="POST",
                                     data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200




def delivered_to(sandbox: Sandbox, name: str, status: str) -> dict[str, list[dict[str, Any]]]:
    """Receiver → its records of alert `name` with `status`."""
    found: dict[str, list[dict[str, Any]]] = {}
    for record in sandbox.notifications(alertname=name, status=status):
        found.setdefault(record["receiver"], []).append(record)
    return found


def about_service(record: dict[str, Any], service: str) -> bool:
    """Whether a notification is about alerts of `service`: the email's subject and the Slack title
    say "... on <service> (severity)"; a pager call carries the alerts' labels."""
    if record["channel"] == "pager":
        return any(a["labels"].get("service") == service for a in record["alerts"])
    headline = record["email"]["subject"] if record["channel"] == "email" else record["slack"]["title"]
    return f" on {service} (" in headline


def wait_delivered(sandbox: Sandbox, wanted: dict[str, set[str]], status: str) -> dict[str, dict[str, list]]:
    """Wait until every alert reached every receiver it should, then a little longer (SETTLE), so
    that a receiver it should not reach would have been reached too."""
    def reached() -> bool:
        return all(receivers <= set(delivered_to(sandbox, name, status)) for name, receivers in wanted.items())

    done = eventually(reached, timeout=45)
    time.sleep(SETTLE)
    got = {name: delivered_to(sandbox, name, status) for name in wanted}
    assert done, f"not delivered in time: wanted {wanted}, got { {n: sorted(r) for n, r in got.items()} }; " \
                 f"the sink rejected: {sandbox.notification_report()['rejected']}"
    return got


def alertmanager_alerts(sandbox: Sandbox) -> list[dict[str, Any]]:
    query = urllib.parse.quote(f'opsbook_test="{RUN}"')
    with urllib.request.urlopen(f"{sandbox.env()['ALERTMANAGER_URL']}/api/v2/alerts?filter={query}", timeout=10) as r:
        return json.load(r)


@pytest.fixture(scope="module")
def routed(sandbox: Sandbox) -> Iterator[dict[str, dict[str, list[dict[str, Any]]]]]:
    """A critical, a major, a warning, a security and a business alert, firing and delivered."""
    sandbox.clear_notifications()
    alerts = [synthetic(name) for name in ROUTED]
    push(sandbox, alerts)
    try:
        yield wait_delivered(sandbox, {name: expected_receivers(RULES[name]["labels"]) for name in ROUTED}, "firing")
    finally:
        push(sandbox, alerts, resolved=True)


def test_each_severity_and_category_reaches_exactly_its_receivers(routed: dict[str, dict[str, list]]) -> None:
    for name in ROUTED:
        labels = RULES[name]["labels"]
        assert set(routed[name]) == expected_receivers(labels), f"{name} ({labels}) reached {sorted(routed[name])}"
        for receiver, records in routed[name].items():
            assert {r["channel"] for r in records} == {CHANNEL_OF[receiver]}, (name, receiver)


def test_each_channel_carries_what_the_on_call_engineer_needs(sandbox: Sandbox, routed: dict[str, dict]) -> None:
    am_url = sandbox.env()["ALERTMANAGER_URL"]
    addresses = sandbox_env()
    for name in ROUTED:
        rule = RULES[name]
        for receiver, records in routed[name].items():
            record = records[-1]
            if record["channel"] == "email":
                mail = record["email"]
                assert mail["to"] == [addresses[EMAIL_TO[receiver]]]
                assert mail["subject"].startswith("[FIRING:") and name in mail["subject"]
                links = {(link["text"], link["url"]) for link in mail["links"]}  # the group may hold others' alerts
                assert ("Runbook", rule["annotations"]["runbook_url"]) in links
                assert ("Dashboard", rule["annotations"]["dashboard_url"]) in links
                assert rule["labels"]["service"] in mail["subject"] and mail["text"]
            elif record["channel"] == "slack":
                chat = record["slack"]
                colour = {"critical": "#c62828", "major": "#ef6c00", "warning": "#f9a825"}[rule["labels"]["severity"]]
                assert (chat["channel"], chat["color"]) == ("#oncall", colour)
                assert chat["title"].startswith("[FIRING:") and name in chat["title"]
                actions = {a["text"]: a["url"] for a in chat["actions"]}
                assert actions["Runbook"] == rule["annotations"]["runbook_url"]
                assert actions["Dashboard"] == rule["annotations"]["dashboard_url"]
                assert actions["Silence"].startswith(f"{am_url}/#/silences/new?filter=")
                # Filled in with the group's common labels (others' alerts of the rule may share the group).
                assert f"alertname%3D%22{name}%22" in actions["Silence"]
                assert f"service%3D%22{rule['labels']['service']}%22" in actions["Silence"]
            else:
                assert RUN in {a["labels"].get("opsbook_test") for a in record["alerts"]}
                assert record["pager"]["externalURL"] == am_url


def test_an_emails_runbook_link_is_a_page_of_the_built_site(routed: dict[str, dict], tmp_path: Path) -> None:
    links = {r["email"]["runbook_url"] for receivers in routed.values() for records in receivers.values()
             for r in records if r["channel"] == "email"}
    links |= {a["url"] for receivers in routed.values() for records in receivers.values() for r in records
              if r["channel"] == "slack" for a in r["slack"]["actions"] if a["text"] == "Runbook"}
    assert links
    built = mkdocs_build(ROOT / "mkdocs.yml", tmp_path / "site", strict=False, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    site_url = re.search(r"^site_url:\s*(\S+)", (ROOT / "mkdocs.yml").read_text(), re.MULTILINE).group(1)  # type: ignore[union-attr]
    for link in sorted(links):
        assert link.startswith(site_url), f"{link} is not on the runbook site {site_url}"
        path, _, anchor = link[len(site_url):].partition("#")
        page = tmp_path / "site" / (path + "index.html" if not path or path.endswith("/") else path)
        assert page.is_file(), f"{link}: no page {page.relative_to(tmp_path)} in the built site"
        assert not anchor or f'id="{anchor}"' in page.read_text(), f"{link}: no anchor #{anchor} on the page"


def test_a_cause_inhibits_its_symptoms_which_are_never_notified(sandbox: Sandbox) -> None:
    """The cause's rule inhibits by alert name alone, so the symptoms can carry a service of their
    own: notifications about it are about them, never about a real alert of the same name that an
    earlier test left firing (which the cause inhibits too, but may have been on its way already)."""
    cause = synthetic("ApplicationDown")
    service = f"inhibition-{RUN}"
    symptoms = [{**alert, "labels": {**alert["labels"], "service": service}}
                for alert in (synthetic(name) for name in SYMPTOMS)]
    # The cause first, as a real outage goes: Alertmanager's inhibitor learns of an alert a moment
    # after the API takes it, and a symptom pushed in the same request (a loaded machine, group_wait
    # of 1 s) can be notified before the inhibitor has seen its cause.
    push(sandbox, [cause])
    try:
        assert eventually(lambda: any(a["labels"]["alertname"] == "ApplicationDown" and a["status"]["state"] == "active"
                                      and a["labels"].get("opsbook_test") == cause["labels"].get("opsbook_test")
                                      for a in alertmanager_alerts(sandbox)) or None, timeout=30)
        time.sleep(1)
        push(sandbox, symptoms)

        def inhibited() -> dict[str, dict[str, Any]] | None:
            seen = {a["labels"]["alertname"]: a for a in alertmanager_alerts(sandbox)}
            ready = all(seen.get(n, {}).get("status", {}).get("inhibitedBy") for n in SYMPTOMS)
            return seen if ready and "ApplicationDown" in seen else None

        seen = eventually(inhibited, timeout=30)
        assert seen, f"not all inhibited: {[(a['labels']['alertname'], a['status']) for a in alertmanager_alerts(sandbox)]}"
        pushed = {a["fingerprint"] for a in seen.values()}
        for name in SYMPTOMS:
            status = seen[name]["status"]
            assert status["state"] == "suppressed" and set(status["inhibitedBy"]) <= pushed, (name, status)
        # Critical itself, HealthCheckFailing is silenced by the ApplicationDown rule alone.
        assert seen["HealthCheckFailing"]["status"]["inhibitedBy"] == [seen["ApplicationDown"]["fingerprint"]]
        assert seen["ApplicationDown"]["status"]["state"] == "active"

        wait_delivered(sandbox, {"ApplicationDown": expected_receivers(RULES["ApplicationDown"]["labels"])}, "firing")
        for name in SYMPTOMS:
            sent = [r for records in delivered_to(sandbox, name, "firing").values() for r in records
                    if about_service(r, service)]
            assert not sent, f"{name} was notified while inhibited: {sent}"
    finally:
        push(sandbox, [cause, *symptoms], resolved=True)


def test_a_resolved_notification_follows_the_end_of_an_alert(sandbox: Sandbox) -> None:
    names = ("DatabaseConnectionsExhausted", "WorkerJobFailures")  # a critical (pager, chat) and a warning (email)
    alerts = [synthetic(name) for name in names]
    wanted = {name: expected_receivers(RULES[name]["labels"]) for name in names}
    push(sandbox, alerts)
    try:
        wait_delivered(sandbox, wanted, "firing")
    finally:
        push(sandbox, alerts, resolved=True)
    resolved = wait_delivered(sandbox, wanted, "resolved")
    for name in names:
        assert set(resolved[name]) == wanted[name]
        for records in resolved[name].values():
            record = records[-1]
            if record["channel"] == "email":
                assert record["email"]["subject"].startswith("[RESOLVED]")
                assert "background-color:#2e7d32" in record["email"]["html"] and "Resolved:" in record["email"]["html"]
            elif record["channel"] == "slack":
                assert record["slack"]["color"] == "#2e7d32" and record["slack"]["title"].startswith("[RESOLVED]")
            else:
                assert [a["status"] for a in record["alerts"] if a["labels"].get("opsbook_test") == RUN] == ["resolved"]


HOSTILE = "<script>alert(1)</script> <b>bold</b> <!channel> <@U0123> & <https://evil.example|click here>"


def test_alert_text_never_becomes_markup(sandbox: Sandbox) -> None:
    names = ("WorkerDown", "HighNetworkErrors")  # a major (Slack) and a warning (email)
    alerts = [synthetic(name, summary=HOSTILE, description=HOSTILE, runbook_url="javascript:alert(document.domain)")
              for name in names]
    for alert in alerts:  # a group of their own: a real alert of the rule would lead the group's links
        alert["labels"]["service"] = f"escaping-{RUN}"
    push(sandbox, alerts)
    try:
        got = wait_delivered(sandbox, {name: expected_receivers(RULES[name]["labels"]) for name in names}, "firing")
    finally:
        push(sandbox, alerts, resolved=True)
    chat = got["WorkerDown"]["oncall-chat"][-1]["slack"]
    assert "&lt;script&gt;" in chat["text"] and "&lt;!channel&gt;" in chat["text"] and "&amp;" in chat["text"]
    for raw in ("<script>", "<!channel>", "<@U0123>", "<https://evil.example", " & "):
        assert raw not in chat["text"], raw
    runbook = next(a["url"] for a in chat["actions"] if a["text"] == "Runbook")
    assert runbook.startswith(sandbox.env()["ALERTMANAGER_URL"] + "/#/alerts"), "a non-http(s) link is replaced"
    mail = got["HighNetworkErrors"]["team-email"][-1]["email"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mail["html"] and "&lt;b&gt;bold&lt;/b&gt;" in mail["html"]
    assert "<script>" not in mail["html"] and "<b>bold</b>" not in mail["html"]
    assert "javascript:" not in mail["html"] and mail["runbook_url"] == "#ZgotmplZ"


# --- `opsbook sandbox notifications` ------------------------------------------------------------


def cli(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", "from opsbook.cli.main import entry; entry()", "sandbox",
                           "notifications", "--project", sandbox.project, *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)


def test_the_cli_shows_what_each_receiver_got(sandbox: Sandbox, routed: dict[str, dict]) -> None:
    done = cli(sandbox)
    assert done.returncode == 0, done.stderr
    for name in ROUTED:
        assert name in done.stdout
        for receiver in routed[name]:
            assert receiver in done.stdout
    mail = routed["DatabaseDeadlocks"]["team-email"][-1]["email"]
    assert mail["subject"] in done.stdout
    assert f"runbook: {mail['runbook_url']}" in done.stdout and f"dashboard: {mail['dashboard_url']}" in done.stdout
    assert "\x1b" not in done.stdout


def test_the_cli_filters_by_receiver_and_speaks_json(sandbox: Sandbox, routed: dict[str, dict]) -> None:
    everything = json.loads(cli(sandbox, "--json").stdout)
    assert everything["project"] == sandbox.project
    assert {r["receiver"] for r in everything["notifications"]} >= {"oncall-pager", "oncall-chat", "team-email",
                                                                     "security-email", "product-email"}
    only = cli(sandbox, "--receiver", "security-email", "--json")
    assert only.returncode == 0, only.stderr
    records = json.loads(only.stdout)["notifications"]
    assert records and {r["receiver"] for r in records} == {"security-email"}
    assert "SuspiciousAuthFailures" in {n for r in records for n in r["alertnames"]}
    table = cli(sandbox, "--receiver", "security-email")
    assert table.returncode == 0 and "security-email" in table.stdout
    assert "oncall-chat" not in table.stdout and "team-email" not in table.stdout


# --- secrets: the sink refuses a wrong one ----------------------------------------------------------


def _post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, method="POST", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


SMTP_PROBE = """
import smtplib, ssl, sys
def session():
    smtp = smtplib.SMTP("127.0.0.1", 2525, timeout=10)
    smtp.starttls(context=ssl._create_unverified_context())
    return smtp
try:
    session().login("alertmanager", "not-the-password")
    print("wrong password accepted")
except smtplib.SMTPAuthenticationError as exc:
    print("wrong password refused", exc.smtp_code)
try:
    session().sendmail("x@example.com", ["y@example.com"], "Subject: no auth\\r\\n\\r\\nhi")
    print("mail without AUTH accepted")
except smtplib.SMTPException as exc:
    print("mail without AUTH refused")
plain = smtplib.SMTP("127.0.0.1", 2525, timeout=10)
plain.ehlo()
print("AUTH before STARTTLS" if plain.has_extn("auth") else "no AUTH before STARTTLS")
session().login("alertmanager", open("/run/secrets/notifications/smtp-auth-password").read())
print("right password accepted")
"""


def test_the_sink_refuses_wrong_secrets(sandbox: Sandbox) -> None:
    """A delivery that arrives proves its secret reached Alertmanager, because a wrong one fails."""
    env = sandbox.env()
    sink = env["NOTIFICATION_SINK_URL"]
    good_slack = env["SLACK_WEBHOOK_URL"]
    wrong_slack = good_slack.rsplit("/", 1)[0] + "/not-the-token"
    message = {"text": "from the tests"}
    assert _post(wrong_slack, message) == (403, "invalid_token")
    assert _post(good_slack, message) == (200, "ok")
    pager = sink + "/pager/v1/events"
    payload = {"receiver": "tests", "status": "firing", "alerts": []}
    assert _post(pager, payload)[0] == 401
    assert _post(pager, payload, {"Authorization": "Bearer not-the-token"})[0] == 401
    assert _post(pager, payload, {"Authorization": f"Bearer {env['PAGER_TOKEN']}"})[0] == 202
    probe = subprocess.run(["docker", "exec", "-i", sandbox._container("notification-sink"), "python3", "-"],
                           input=SMTP_PROBE, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split("\n")[:4] == ["wrong password refused 535", "mail without AUTH refused",
                                           "no AUTH before STARTTLS", "right password accepted"], probe.stdout
    rejected = sandbox.notification_report()["rejected"]
    assert {r["channel"] for r in rejected} >= {"slack", "pager", "email"}
    assert not any(env["PAGER_TOKEN"] in r["reason"] or env["SLACK_WEBHOOK_TOKEN"] in r["reason"] for r in rejected)
