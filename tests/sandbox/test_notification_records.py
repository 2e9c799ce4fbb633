"""The notification sink's parsing, without docker: an email, a Slack message and a pager call as
Alertmanager sends them become the records GET /notifications returns."""

from __future__ import annotations

import importlib.util
import sys
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from types import ModuleType

import pytest

SINK = Path(__file__).resolve().parents[2] / "sandbox" / "notification-sink" / "notification_records.py"


@pytest.fixture(scope="module")
def records() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notification_records", SINK)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("notification_records", module)
    spec.loader.exec_module(module)
    return module


def alertmanager_email(html: str, *, subject: str, receiver: str = "team-email", status: str = "firing",
                       alertname: str = "DatabaseDeadlocks") -> bytes:
    """Shaped like Alertmanager's: multipart/alternative, quoted-printable parts, its X- headers."""
    message = EmailMessage()
    message["From"] = "alertmanager@example.com"
    message["To"] = "platform-team@example.com"
    message["Subject"] = subject
    message["X-Alertmanager-Receiver"] = receiver
    message["X-Alertmanager-Status"] = status
    message["X-Alertmanager-Alertname"] = alertname
    message.set_content("plain text part\n", cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message.as_bytes(policy=SMTP)


HTML = """<!DOCTYPE html><html><body><table><tr><td>
<p>&lt;script&gt;alert(1)&lt;/script&gt; — 3 deadlocks per second on the primary database, which is a lot</p>
<a href="https://runbooks.example.com/alerts/#databasedeadlocks" style="display:inline-block">Runbook</a>
<a href="https://grafana.example.com/d/opsbook-postgres/postgres?var-instance=db-1&amp;from=now-1h">
  Dashboard
</a>
<a href="https://prometheus.example.com/graph?g0.expr=x">Query</a>
<a name="no-href">anchor</a>
</td></tr></table></body></html>"""


def test_an_email_gives_its_receiver_status_subject_and_links(records: ModuleType) -> None:
    raw = alertmanager_email(HTML, subject="[FIRING:1] DatabaseDeadlocks on postgres (warning) ✓")
    record = records.email_record(raw, "alertmanager@example.com", ["platform-team@example.com"])
    assert (record["channel"], record["receiver"], record["status"]) == ("email", "team-email", "firing")
    assert record["alertnames"] == ["DatabaseDeadlocks"]
    assert record["alerts"] == [{"alertname": "DatabaseDeadlocks", "status": "firing"}]
    mail = record["email"]
    assert mail["subject"] == "[FIRING:1] DatabaseDeadlocks on postgres (warning) ✓"  # RFC 2047 decoded
    assert mail["to"] == ["platform-team@example.com"]
    assert mail["runbook_url"] == "https://runbooks.example.com/alerts/#databasedeadlocks"
    assert mail["dashboard_url"] == "https://grafana.example.com/d/opsbook-postgres/postgres?var-instance=db-1&from=now-1h"
    assert [link["text"] for link in mail["links"]] == ["Runbook", "Dashboard", "Query"]
    assert "&lt;script&gt;" in mail["html"], "the HTML is kept as sent (quoted-printable decoded)"
    assert mail["text"] == "plain text part\n"
    assert record["time"].endswith("Z")


def test_an_email_without_alertmanager_headers_is_still_kept(records: ModuleType) -> None:
    message = EmailMessage()
    message["Subject"] = "hello"
    message.set_content("just text")
    record = records.email_record(message.as_bytes(), "someone@example.com", ["x@example.com"])
    assert (record["receiver"], record["status"], record["alertnames"]) == ("unknown", "", [])
    assert record["email"]["runbook_url"] is None and record["email"]["html"] == ""


SLACK = {
    "channel": "#oncall", "username": "Alertmanager",
    "attachments": [{
        "title": "[FIRING:1] HighErrorRate on app (major)", "title_link": "https://runbooks.example.com/alerts/#higherrorrate",
        "text": "5xx ratio &lt;b&gt;12%&lt;/b&gt;\n", "fallback": "x", "callback_id": "oncall-chat", "footer": "Alertmanager · oncall-chat",
        "color": "#ef6c00", "mrkdwn_in": ["fallback", "pretext", "text"],
        "fields": [{"title": "Alert", "value": "HighErrorRate", "short": True},
                   {"title": "Status", "value": "firing", "short": True}],
        "actions": [{"type": "button", "text": "Runbook", "url": "https://runbooks.example.com/alerts/#higherrorrate"},
                    {"type": "button", "text": "Dashboard", "url": "https://grafana.example.com/d/app"},
                    {"type": "button", "text": "Silence", "url": "http://127.0.0.1:9093/#/silences/new?filter=%7B%7D"}],
    }],
}


def test_a_slack_message_gives_its_colour_text_and_buttons(records: ModuleType) -> None:
    record = records.slack_record(SLACK)
    assert (record["channel"], record["receiver"], record["status"]) == ("slack", "oncall-chat", "firing")
    assert record["alertnames"] == ["HighErrorRate"]
    chat = record["slack"]
    assert (chat["channel"], chat["color"]) == ("#oncall", "#ef6c00")
    assert chat["text"] == "5xx ratio &lt;b&gt;12%&lt;/b&gt;\n"
    assert [a["text"] for a in chat["actions"]] == ["Runbook", "Dashboard", "Silence"]
    assert chat["actions"][0]["url"] == "https://runbooks.example.com/alerts/#higherrorrate"


def test_a_plain_slack_message_without_attachments(records: ModuleType) -> None:
    record = records.slack_record({"text": "deploy finished"})
    assert (record["receiver"], record["alertnames"], record["slack"]["text"]) == ("unknown", [], "deploy finished")


PAGER = {
    "version": "4", "groupKey": "{}:{alertname=\"RedisDown\"}", "truncatedAlerts": 0, "status": "resolved",
    "receiver": "oncall-pager", "groupLabels": {"alertname": "RedisDown", "service": "redis"},
    "commonLabels": {"alertname": "RedisDown", "severity": "critical"}, "commonAnnotations": {},
    "externalURL": "http://127.0.0.1:9093",
    "alerts": [{"status": "resolved", "labels": {"alertname": "RedisDown", "instance": "a"}, "annotations": {},
                "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-01-01T00:05:00Z", "fingerprint": "1"},
               {"status": "resolved", "labels": {"alertname": "RedisDown", "instance": "b"}, "annotations": {},
                "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-01-01T00:05:00Z", "fingerprint": "2"}],
}


def test_a_pager_call_keeps_every_alert(records: ModuleType) -> None:
    record = records.pager_record(PAGER)
    assert (record["channel"], record["receiver"], record["status"]) == ("pager", "oncall-pager", "resolved")
    assert record["alertnames"] == ["RedisDown"], "each name once"
    assert [a["labels"]["instance"] for a in record["alerts"]] == ["a", "b"]
    assert record["pager"]["groupLabels"] == {"alertname": "RedisDown", "service": "redis"}


def test_filters_combine(records: ModuleType) -> None:
    kept = [records.pager_record(PAGER), records.slack_record(SLACK)]
    pick = lambda **query: [r["channel"] for r in kept if records.matches(r, query)]  # noqa: E731
    assert pick() == ["pager", "slack"]
    assert pick(receiver="oncall-chat") == ["slack"]
    assert pick(alertname="RedisDown") == ["pager"]
    assert pick(alertname="RedisDown", status="firing") == []
    assert pick(status="firing", channel="slack") == ["slack"]
    assert pick(receiver="") == ["pager", "slack"], "an empty filter is no filter"
