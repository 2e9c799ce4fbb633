"""The alerts firing on a target, as its Alertmanager reports them (API v2): read, ordered for the
person on call, matched to the runbooks that answer them, and their labels turned into runbook params.

HTTP with the standard library only; nothing here prints. Every label and annotation value is
text somebody else wrote: callers print it through `opsbook.text.printable` (the CLI's `content`).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from opsbook.errors import OpsbookError
from opsbook.runbook.catalog import filter_runbooks
from opsbook.runbook.model import Param, Runbook
from opsbook.text import parse_time

SEVERITIES = ("critical", "major", "warning")
"""Most severe first; any other severity (or none) comes after these."""

PREFERRED_LABELS = ("instance", "service", "job")
"""The labels that tell two alerts of one rule apart, in the order a person would name them."""

READ_TIMEOUT = 5.0
"""Seconds to wait for an Alertmanager: long enough for a remote one, short enough at 3 a.m."""


@dataclass(frozen=True)
class FiringAlert:
    """One alert Alertmanager holds: firing, and either notified (active) or suppressed."""

    name: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    state: str = "active"  # Alertmanager's: active | suppressed | unprocessed (just received)
    silenced_by: tuple[str, ...] = ()  # silence ids
    inhibited_by: tuple[str, ...] = ()  # fingerprints of the alerts that inhibit it
    fingerprint: str = ""
    generator_url: str = ""

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    @property
    def suppressed(self) -> bool:
        """Inhibited or silenced: Alertmanager notifies no one of it."""
        return self.state == "suppressed" or bool(self.silenced_by or self.inhibited_by)

    @property
    def runbook_url(self) -> str:
        return self.annotations.get("runbook_url", "")

    def label(self, key: str) -> str:
        """A label's value; a missing label reads as "" (as in Prometheus and Alertmanager matchers)."""
        return self.labels.get(key, "")

    def firing_seconds(self, now: datetime) -> float | None:
        return None if self.starts_at is None else max(0.0, (now - self.starts_at).total_seconds())

    def matches(self, wanted: Mapping[str, str]) -> bool:
        return all(self.label(k) == v for k, v in wanted.items())


def severity_rank(severity: str) -> int:
    lowered = severity.lower()
    return SEVERITIES.index(lowered) if lowered in SEVERITIES else len(SEVERITIES)


def on_call_order(alerts: Iterable[FiringAlert]) -> list[FiringAlert]:
    """Active before suppressed; then critical, major, warning, any other; then the oldest first
    (the first to fire is the likeliest cause); then by name, for a stable listing."""
    latest = datetime.max.replace(tzinfo=timezone.utc)
    return sorted(alerts, key=lambda a: (a.suppressed, severity_rank(a.severity), a.starts_at or latest, a.name,
                                         sorted(a.labels.items()), a.fingerprint))


# --- reading Alertmanager -----------------------------------------------------------------------


def shown_url(url: str) -> str:
    """`url` fit for a message: a password in it replaced by ***."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _request(url: str) -> urllib.request.Request:
    """A GET of `url`; user:password in it become a basic Authorization header (urllib sends neither)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return urllib.request.Request(url, headers={"Accept": "application/json"})
    host = parts.netloc.rpartition("@")[2]
    plain = urllib.parse.urlunsplit(parts._replace(netloc=host))
    pair = f"{urllib.parse.unquote(parts.username or '')}:{urllib.parse.unquote(parts.password or '')}"
    token = base64.b64encode(pair.encode()).decode()
    return urllib.request.Request(plain, headers={"Accept": "application/json", "Authorization": f"Basic {token}"})


class AlertmanagerUnreachable(OpsbookError):
    """Nothing answered at the Alertmanager's address (refused, no route, timed out)."""


def read_alerts(alertmanager_url: str, *, timeout: float = READ_TIMEOUT) -> list[FiringAlert]:
    """Every alert Alertmanager holds (GET /api/v2/alerts: active, silenced, inhibited and
    unprocessed ones), in no particular order. Raises AlertmanagerUnreachable when nothing answers,
    OpsbookError when something answers that is not an Alertmanager's list of alerts."""
    url = alertmanager_url.rstrip("/") + "/api/v2/alerts"
    shown = shown_url(url)
    try:
        with urllib.request.urlopen(_request(url), timeout=timeout) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        hint = " (give credentials as https://user:password@host in ALERTMANAGER_URL, a secret of the target)" \
            if exc.code in (401, 403) else ""
        raise OpsbookError(f"Alertmanager at {shown} answered HTTP {exc.code} {exc.reason}{hint}"
                           + (f": {detail}" if detail else "")) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise AlertmanagerUnreachable(f"Alertmanager at {shown} does not answer ({reason})") from exc
    except ValueError as exc:
        raise OpsbookError(f"{shown} did not answer with JSON ({exc}): is ALERTMANAGER_URL an Alertmanager?") from exc
    if not isinstance(body, list):
        raise OpsbookError(f"{shown} did not answer with a list of alerts: is ALERTMANAGER_URL an Alertmanager "
                           "(API v2, Alertmanager 0.16 or later)?")
    return [alert_from_api(item) for item in body if isinstance(item, dict)]


def _strings(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def alert_from_api(item: Mapping[str, object]) -> FiringAlert:
    """One `gettableAlert` of Alertmanager's API v2 as a FiringAlert; missing fields are tolerated."""
    labels = _strings(item.get("labels"))
    raw_status = item.get("status")
    status = raw_status if isinstance(raw_status, dict) else {}
    starts_at: datetime | None
    try:
        starts_at = parse_time(str(item.get("startsAt") or ""))
    except ValueError:
        starts_at = None
    return FiringAlert(
        name=labels.get("alertname", ""), labels=labels, annotations=_strings(item.get("annotations")),
        starts_at=starts_at, state=str(status.get("state") or "active"),
        silenced_by=tuple(str(s) for s in status.get("silencedBy") or ()),
        inhibited_by=tuple(str(s) for s in status.get("inhibitedBy") or ()),
        fingerprint=str(item.get("fingerprint") or ""), generator_url=str(item.get("generatorURL") or ""))


# --- which alert, which runbook --------------------------------------------------------------------


def named(alerts: Iterable[FiringAlert], name: str) -> list[FiringAlert]:
    """The alerts called `name` (case-insensitive, like `opsbook list --alert`), in on-call order."""
    return on_call_order(a for a in alerts if a.name.lower() == name.lower())


def distinguishing_labels(alert: FiringAlert, group: Sequence[FiringAlert]) -> list[tuple[str, str]]:
    """The fewest labels (instance, service, job first) whose values pick `alert` out of `group`,
    the alerts of its name; none when it is alone."""
    rest = [a for a in group if a.labels != alert.labels]  # Alertmanager's fingerprint is of the labels
    keys = [*PREFERRED_LABELS, *sorted({k for a in (alert, *group) for k in a.labels} - set(PREFERRED_LABELS))]
    chosen: list[tuple[str, str]] = []
    for key in keys:
        if not rest:
            break
        if key == "alertname" or all(a.label(key) == alert.label(key) for a in rest):
            continue
        chosen.append((key, alert.label(key)))
        rest = [a for a in rest if a.label(key) == alert.label(key)]
    return chosen


def runbooks_answering(runbooks: Iterable[Runbook], name: str) -> list[Runbook]:
    """The runbooks whose header lists `name` under `alerts:` (ignoring case, like `opsbook list --alert`), by id."""
    return sorted(filter_runbooks(list(runbooks), alert=name), key=lambda rb: rb.id)


def primary_runbook(answering: Sequence[Runbook], runbook_url: str) -> Runbook | None:
    """The one runbook of `answering` for the alert: the only one, or, when several list the alert,
    the one its rule's runbook_url points to (a page `.../runbooks/<id>/`); None if that says nothing."""
    if len(answering) == 1:
        return answering[0]
    path = urllib.parse.urlsplit(runbook_url).path.rstrip("/") + "/"
    for runbook in answering:
        if path.endswith(f"/runbooks/{runbook.id}/"):
            return runbook
    return None


@dataclass(frozen=True)
class LabelParam:
    """A runbook param an alert label fills in (or would, but --param said otherwise)."""

    param: Param
    label: str
    value: str
    overridden: bool = False  # an explicit --param wins


def params_from_labels(runbook: Runbook, labels: Mapping[str, str],
                       given: Mapping[str, str]) -> list[LabelParam]:
    """Each param of `runbook` whose name equals a label's ignoring case (INSTANCE ← instance).
    A label of exactly the param's name wins over one that only differs in case."""
    found = []
    for param in runbook.params:
        candidates = sorted(k for k in labels if k.lower() == param.name.lower())
        if not candidates:
            continue
        label = param.name if param.name in candidates else candidates[0]
        found.append(LabelParam(param, label, labels[label], overridden=param.name in given))
    return found
