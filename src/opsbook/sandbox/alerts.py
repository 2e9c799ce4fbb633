"""Read alerts from Prometheus and notifications from the webhook receiver (HTTP, stdlib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

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


def webhook_notifications(webhook_url: str, alertname: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    query = {k: v for k, v in (("alertname", alertname), ("status", status)) if v}
    url = webhook_url.rstrip("/") + "/notifications" + ("?" + urllib.parse.urlencode(query) if query else "")
    return list(get_json(url).get("notifications", []))


def clear_webhook(webhook_url: str) -> None:
    req = urllib.request.Request(webhook_url.rstrip("/") + "/notifications", method="DELETE")
    try:
        with urllib.request.urlopen(req, timeout=5):
            pass
    except (urllib.error.URLError, OSError) as exc:
        raise SandboxError(f"cannot clear the webhook receiver's notifications: {exc}") from exc
