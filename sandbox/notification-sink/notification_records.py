"""What the sink keeps of a notification: one normalized record per delivery, whatever the channel.

Every record has `id`, `time` (UTC, ISO 8601), `channel` (email | slack | pager), `receiver` (the
Alertmanager receiver), `status` (firing | resolved: the group's, as Alertmanager sent it),
`alertnames` and `alerts` ([{alertname, status, ...}]), and one channel-specific part:

- `email`: from, to, subject, runbook_url and dashboard_url (the HTML body's "Runbook" and
  "Dashboard" links), every link, the HTML and the text body;
- `slack`: channel, color, title, title_link, text, fields, actions [{text, url}], footer;
- `pager`: Alertmanager's webhook JSON (group labels, common labels and annotations, externalURL).

Email and Slack carry no machine-readable alert list, so the templates in
monitoring/alertmanager/templates add one: X-Alertmanager-* headers, and Slack's callback_id
(the receiver) and fields (Alert, Status). Pure functions: sink.py does the I/O.
"""

from __future__ import annotations

import email.policy
from datetime import datetime, timezone
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import Any, Mapping


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Links(HTMLParser):
    """Every <a href> of an HTML document, with its text (whitespace collapsed)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str]] = []
        self._open: dict[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href is not None:
                self._open, self._text = {"url": href}, []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self._open["text"] = " ".join("".join(self._text).split())
            self.links.append(self._open)
            self._open = None


def html_links(html: str) -> list[dict[str, str]]:
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser.links


def _link(links: list[dict[str, str]], text: str) -> str | None:
    return next((link["url"] for link in links if link.get("text", "").lower() == text), None)


def _names(value: str | None) -> list[str]:
    """Alert names from a header or field: space-separated, each once, in order."""
    return list(dict.fromkeys((value or "").split()))


def _alerts(names: list[str], status: str) -> list[dict[str, Any]]:
    return [{"alertname": name, "status": status} for name in names]


def email_record(raw: bytes, mail_from: str, rcpt_to: list[str]) -> dict[str, Any]:
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    # SMTP's CRLF line ends, as the reader of the record expects them: \n.
    html = html_part.get_content().replace("\r\n", "\n") if html_part is not None else ""
    text = text_part.get_content().replace("\r\n", "\n") if text_part is not None else ""
    links = html_links(html)
    status = str(message.get("X-Alertmanager-Status", "")).strip()
    names = _names(str(message.get("X-Alertmanager-Alertname", "")))
    return {
        "time": now(), "channel": "email",
        "receiver": str(message.get("X-Alertmanager-Receiver", "")).strip() or "unknown",
        "status": status, "alertnames": names, "alerts": _alerts(names, status),
        "email": {"from": mail_from, "to": list(rcpt_to), "subject": str(message.get("Subject", "")),
                  "runbook_url": _link(links, "runbook"), "dashboard_url": _link(links, "dashboard"),
                  "links": links, "html": html, "text": text},
    }


def slack_record(payload: Mapping[str, Any]) -> dict[str, Any]:
    attachments = payload.get("attachments") or [{}]
    first = attachments[0] if isinstance(attachments[0], dict) else {}
    fields = {str(f.get("title", "")): str(f.get("value", "")) for f in first.get("fields") or [] if isinstance(f, dict)}
    status = fields.get("Status", "")
    names = _names(fields.get("Alert"))
    actions = [{"text": str(a.get("text", "")), "url": str(a.get("url", ""))}
               for a in first.get("actions") or [] if isinstance(a, dict)]
    return {
        "time": now(), "channel": "slack",
        "receiver": str(first.get("callback_id") or "") or "unknown",
        "status": status, "alertnames": names, "alerts": _alerts(names, status),
        "slack": {"channel": payload.get("channel"), "username": payload.get("username"),
                  "color": first.get("color"), "title": first.get("title"), "title_link": first.get("title_link"),
                  "text": first.get("text") if "text" in first else payload.get("text"),
                  "fallback": first.get("fallback"), "footer": first.get("footer"), "fields": fields,
                  "actions": actions},
    }


def pager_record(payload: Mapping[str, Any]) -> dict[str, Any]:
    alerts = [{"alertname": a.get("labels", {}).get("alertname"), "status": a.get("status"),
               "labels": a.get("labels", {}), "annotations": a.get("annotations", {}),
               "startsAt": a.get("startsAt"), "endsAt": a.get("endsAt"), "fingerprint": a.get("fingerprint")}
              for a in payload.get("alerts") or []]
    return {
        "time": now(), "channel": "pager",
        "receiver": str(payload.get("receiver") or "unknown"),
        "status": payload.get("status"),
        "alertnames": list(dict.fromkeys(str(a["alertname"]) for a in alerts if a["alertname"])),
        "alerts": alerts,
        "pager": {"groupKey": payload.get("groupKey"), "groupLabels": payload.get("groupLabels", {}),
                  "commonLabels": payload.get("commonLabels", {}),
                  "commonAnnotations": payload.get("commonAnnotations", {}),
                  "externalURL": payload.get("externalURL"), "truncatedAlerts": payload.get("truncatedAlerts", 0)},
    }


FILTERS = ("receiver", "alertname", "status", "channel")


def matches(record: Mapping[str, Any], query: Mapping[str, str]) -> bool:
    """GET /notifications?receiver=&alertname=&status=&channel=: every given filter must hold."""
    if query.get("receiver") and record.get("receiver") != query["receiver"]:
        return False
    if query.get("alertname") and query["alertname"] not in record.get("alertnames", []):
        return False
    if query.get("status") and record.get("status") != query["status"]:
        return False
    return not (query.get("channel") and record.get("channel") != query["channel"])
