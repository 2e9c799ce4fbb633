"""Read status.json (schema "opsbook-status/1") into frozen records the site renders."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from opsbook.errors import OpsbookError

SCHEMA_ID = "opsbook-status/1"


class StatusFileError(OpsbookError):
    """status.json exists but cannot be used (bad JSON, unknown schema, missing fields)."""


@dataclass(frozen=True)
class StepRecord:
    """What CI saw for one step in one verification case (output already masked)."""

    name: str
    status: str
    exit_status: int | None
    duration: float
    output: str
    reason: str = ""
    attempts: int = 0


@dataclass(frozen=True)
class AlertCheck:
    """Whether verification saw an alert fire after the fault and resolve at the end."""

    name: str
    fired: bool
    resolved: bool


@dataclass(frozen=True)
class CaseRecord:
    name: str
    result: str
    scenario: str | None
    message: str
    alerts: tuple[AlertCheck, ...]
    steps: tuple[StepRecord, ...]

    def step(self, name: str) -> StepRecord | None:
        for record in self.steps:
            if record.name == name:
                return record
        return None


@dataclass(frozen=True)
class Verification:
    """The last verification of one runbook."""

    runbook_id: str
    result: str  # "passed" | "failed"
    verified_at: datetime
    commit: str | None
    duration: float
    message: str
    cases: tuple[CaseRecord, ...]

    @property
    def first_case(self) -> CaseRecord | None:
        return self.cases[0] if self.cases else None


@dataclass(frozen=True)
class VerificationStatus:
    """The whole status file: when it was written and the verification of each runbook."""

    generated_at: datetime
    commit: str | None
    runbooks: Mapping[str, Verification]

    def get(self, runbook_id: str) -> Verification | None:
        return self.runbooks.get(runbook_id)


def parse_time(text: str) -> datetime:
    """ISO 8601 → aware UTC datetime (naive times are taken as UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def read_status(path: Path) -> VerificationStatus | None:
    """The verification status at `path`; None when the file does not exist (never verified)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StatusFileError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StatusFileError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    try:
        return status_from_document(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise StatusFileError(f"{path}: does not follow schema {SCHEMA_ID}: {exc!r}") from exc


def status_from_document(document: Any) -> VerificationStatus:
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_ID:
        found = document.get("schema") if isinstance(document, dict) else type(document).__name__
        raise ValueError(f"schema is {found!r}, expected {SCHEMA_ID!r}")
    runbooks = {rid: _verification(rid, entry) for rid, entry in document["runbooks"].items()}
    return VerificationStatus(parse_time(document["generated_at"]), document.get("commit"), runbooks)


def _verification(rid: str, entry: Mapping[str, Any]) -> Verification:
    return Verification(
        runbook_id=rid,
        result=str(entry["result"]),
        verified_at=parse_time(entry["verified_at"]),
        commit=entry.get("commit"),
        duration=float(entry.get("duration", 0.0)),
        message=str(entry.get("message", "")),
        cases=tuple(_case(c) for c in entry["cases"]),
    )


def _case(entry: Mapping[str, Any]) -> CaseRecord:
    alerts = tuple(
        AlertCheck(name, bool(seen["fired"]), bool(seen["resolved"]))
        for name, seen in sorted(entry.get("alerts", {}).items())
    )
    steps = tuple(
        StepRecord(
            name=str(s["name"]),
            status=str(s["status"]),
            exit_status=s.get("exit_status"),
            duration=float(s.get("duration", 0.0)),
            output=str(s.get("output", "")),
            reason=str(s.get("reason", "")),
            attempts=int(s.get("attempts", 0)),
        )
        for s in entry.get("steps", [])
    )
    return CaseRecord(
        name=str(entry["case"]),
        result=str(entry["result"]),
        scenario=entry.get("scenario"),
        message=str(entry.get("message", "")),
        alerts=alerts,
        steps=steps,
    )


class Freshness(str, Enum):
    """The verification badge of a runbook page."""

    VERIFIED = "verified"
    FAILED = "failed"
    STALE = "stale"
    NEVER = "never verified"


def freshness(verification: Verification | None, now: datetime, stale_after_days: int) -> Freshness:
    """A failure stays a failure however old; a pass older than the limit is stale."""
    if verification is None:
        return Freshness.NEVER
    if verification.result != "passed":
        return Freshness.FAILED
    if (now - verification.verified_at).total_seconds() > stale_after_days * 86400:
        return Freshness.STALE
    return Freshness.VERIFIED
