"""Read alerts from Prometheus and notifications from the notification sink (HTTP, stdlib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from opsbook.errors import SandboxError


def get_json(url: str, timeout: float = 5) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SandboxError(f"cannot read {url}: {exc}") from exc


def prometheus_alerts(prometheus_url: str) -> list[dict[str, Any]]:
    """Active alerts (pending and firing) from /api/v1/alerts."""
    body = get_json(prometheus_url.rstrip("/") + "/api/v1/alerts")
    return list(body.get("data", {}).get("alerts", []))


def firing_alert_names(prometheus_url: str) -> set[str]:
    return {a["labels"]["alertname"] for a in prometheus_alerts(prometheus_url) if a.get("state") == "firing"}


def sink_notifications(sink_url: str, *, receiver: str | None = None, alertname: str | None = None,
                       status: str | None = None) -> dict[str, Any]:
    """GET /notifications of the notification sink: {"notifications": [...], "rejected": [...]}.

    Each notification is a normalized record (sandbox/notification-sink/notification_records.py):
    time, channel (email | slack | pager), receiver, status, alertnames, alerts, and the channel's
    part (email: subject, runbook_url, dashboard_url, links; slack: color, text, actions ...)."""
    query = {k: v for k, v in (("receiver", receiver), ("alertname", alertname), ("status", status)) if v}
    url = sink_url.rstrip("/") + "/notifications" + ("?" + urllib.parse.urlencode(query) if query else "")
    body = get_json(url)
    return {"notifications": list(body.get("notifications", [])), "rejected": list(body.get("rejected", []))}


def clear_notifications(sink_url: str) -> None:
    """DELETE /notifications: the sink forgets what it received (and what it rejected)."""
    req = urllib.request.Request(sink_url.rstrip("/") + "/notifications", method="DELETE")
    try:
        with urllib.request.urlopen(req, timeout=5):
            pass
    except (urllib.error.URLError, OSError) as exc:
        raise SandboxError(f"cannot clear the notification sink's records: {exc}") from exc


def receiver_names(alertmanager_config: Path) -> list[str]:
    """The receivers monitoring/alertmanager/alertmanager.yml defines. The file is a template, but
    its ${...} placeholders are plain YAML scalars, so it reads as YAML before it is rendered."""
    try:
        config = yaml.safe_load(alertmanager_config.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SandboxError(f"{alertmanager_config} does not exist") from None
    except yaml.YAMLError as exc:
        raise SandboxError(f"{alertmanager_config}: {exc}") from exc
    return [str(r["name"]) for r in config.get("receivers") or [] if isinstance(r, dict) and r.get("name")]
