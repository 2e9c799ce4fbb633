"""status.json (schema "opsbook-status/1"), both ways: written by verification, read by the site.

The schema is `status.schema.json` next to this module and is documented in docs/ci.md. Fields
added since the first version are optional, so older files still read (a case's `steps_duration`
and `within`: how long its steps took, and its limit; its `figures`: what its steps measured).
Outputs are masked before they reach here; the writer only trims them to an excerpt. The
reader turns a document into frozen records (`VerificationStatus`) and says how fresh a
runbook's last verification is.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

from opsbook.errors import StatusFileError
from opsbook.run.events import StepResult
from opsbook.text import parse_time, utc_now, write_atomically
from opsbook.verify.figures import Figure, case_figures, figure_from_entry
from opsbook.verify.result import AlertOutcome, CaseResult, RunbookVerification

SCHEMA_ID = "opsbook-status/1"
EXCERPT_CHARS = 4000
_MARKER = "\n[... {n} characters trimmed ...]\n"


# --- writing: verification records → the document ------------------------------------------


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """At most about `limit` characters: the start and the end, trimmed in the middle."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 5
    tail = limit - head
    return text[:head] + _MARKER.format(n=len(text) - head - tail) + text[-tail:]


def _step_entry(result: StepResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": result.name,
        "status": result.status.value,
        "exit_status": result.exit_status,
        "duration": round(max(result.duration, 0.0), 3),
        "attempts": max(result.attempts, 0),
        "output": excerpt(result.output),
    }
    if result.reason:
        entry["reason"] = result.reason
    return entry


def _case_entry(case: CaseResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "case": case.case,
        "result": "passed" if case.passed else "failed",
        "scenario": case.scenario,
        "alerts": {a.name: {"fired": a.fired, "resolved": a.resolved} for a in case.alerts},
        "steps": [_step_entry(s) for s in case.steps],
    }
    if case.params:
        entry["params"] = dict(case.params)
    if case.steps_duration is not None:
        entry["steps_duration"] = round(max(case.steps_duration, 0.0), 3)
    if case.within is not None:
        entry["within"] = case.within
    figures = case_figures((s.name, s.output) for s in case.steps)
    if figures:
        entry["figures"] = [f.entry() for f in figures]
    if not case.passed:
        entry["message"] = case.message
    return entry


def runbook_status(verification: RunbookVerification) -> dict[str, Any]:
    """The status.json entry of one runbook."""
    return {
        "id": verification.runbook_id,
        "title": verification.title,
        "result": "passed" if verification.passed else "failed",
        "verified_at": verification.started_at,
        "commit": verification.commit,
        "duration": round(max(verification.duration, 0.0), 3),
        "message": verification.message,
        "cases": [_case_entry(c) for c in verification.cases],
    }


def build_status(
    verifications: Iterable[RunbookVerification],
    commit: str | None,
    generated_at: str | None = None,
    previous: Mapping[str, Any] | None = None,
    shard: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A status document; entries of `previous` not verified this time are kept as they were.
    A shard's document says which shard it is and which runbooks it was given (`shard`:
    index, count, runbooks), so a merge can tell a missing or unfinished shard."""
    runbooks: dict[str, Any] = {}
    if previous is not None and previous.get("schema") == SCHEMA_ID:
        runbooks.update(previous.get("runbooks", {}))
    for v in verifications:
        runbooks[v.runbook_id] = runbook_status(v)
    document = {
        "schema": SCHEMA_ID,
        "generated_at": generated_at or utc_now(),
        "commit": commit,
        "runbooks": dict(sorted(runbooks.items())),
    }
    if shard is not None:
        document["shard"] = {"index": int(shard["index"]), "count": int(shard["count"]),
                             "runbooks": sorted(shard["runbooks"])}
    return document


def merge_problems(documents: Iterable[Mapping[str, Any]]) -> list[str]:
    """What makes a merge of shard documents incomplete or failed, each naming its shard: a shard
    missing or given twice, a runbook a shard was given and did not verify, a runbook that failed."""
    docs = list(documents)
    shards = [d["shard"] for d in docs if isinstance(d.get("shard"), Mapping)]
    if not shards:
        return [f"{rid} failed" for d in docs for rid, e in d.get("runbooks", {}).items() if e.get("result") != "passed"]
    problems = []
    if len(shards) != len(docs):
        problems.append(f"{len(docs) - len(shards)} of the status files are not a shard's (no `shard` field)")
    counts = sorted({int(s["count"]) for s in shards})
    if len(counts) > 1:
        problems.append(f"the shards were cut differently: of {', '.join(map(str, counts))}")
    count = counts[-1]
    seen = [int(s["index"]) for s in shards]
    for index in range(1, count + 1):
        if index not in seen:
            problems.append(f"shard {index}/{count} is missing: no status.json of it was given")
        elif seen.count(index) > 1:
            problems.append(f"shard {index}/{count} was given {seen.count(index)} times")
    for doc, shard in ((d, d["shard"]) for d in docs if isinstance(d.get("shard"), Mapping)):
        name = f"shard {shard['index']}/{shard['count']}"
        entries = doc.get("runbooks", {})
        for rid in shard.get("runbooks", []):
            if rid not in entries:
                problems.append(f"{name} did not verify {rid} (it stopped before, or its results were lost)")
            elif entries[rid].get("result") != "passed":
                problems.append(f"{name}: {rid} failed")
    return problems


def merge_status(documents: Iterable[Mapping[str, Any]], generated_at: str | None = None) -> dict[str, Any]:
    """Merge shard results: per runbook, the most recently verified entry wins."""
    runbooks: dict[str, Any] = {}
    commits: list[str] = []
    for doc in documents:
        if doc.get("schema") != SCHEMA_ID:
            raise ValueError(f"not an {SCHEMA_ID} document (schema: {doc.get('schema')!r})")
        if doc.get("commit"):
            commits.append(doc["commit"])
        for rid, entry in doc.get("runbooks", {}).items():
            if rid not in runbooks or entry["verified_at"] >= runbooks[rid]["verified_at"]:
                runbooks[rid] = entry
    commit = commits[0] if commits and all(c == commits[0] for c in commits) else None
    return {
        "schema": SCHEMA_ID,
        "generated_at": generated_at or utc_now(),
        "commit": commit,
        "runbooks": dict(sorted(runbooks.items())),
    }


def load_status_document(path: Path) -> dict[str, Any] | None:
    """The status document at `path`, or None if there is none (or it is not ours)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("schema") == SCHEMA_ID else None


def write_status(path: Path, document: Mapping[str, Any]) -> Path:
    """Write atomically (temp file + rename) so the site never reads half a file."""
    return write_atomically(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def schema() -> dict[str, Any]:
    """The JSON Schema of status.json (draft 2020-12)."""
    text = resources.files("opsbook.verify").joinpath("status.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


# --- reading: the document → records the site renders ---------------------------------------


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
class CaseRecord:
    name: str
    result: str
    scenario: str | None
    message: str
    alerts: tuple[AlertOutcome, ...]
    steps: tuple[StepRecord, ...]
    steps_duration: float | None = None  # seconds from the first step's start to the last one's end
    within: float | None = None  # the case's limit on steps_duration (`within:` in the runbook)
    figures: tuple[Figure, ...] = ()  # what its steps measured (`figure:` lines, opsbook.verify.figures)

    @property
    def over_limit(self) -> bool:
        return self.within is not None and self.steps_duration is not None and self.steps_duration > self.within

    def step(self, name: str) -> StepRecord | None:
        return self._by_name.get(name)

    @functools.cached_property
    def _by_name(self) -> dict[str, StepRecord]:
        return {record.name: record for record in self.steps}  # one lookup per step card, not a scan


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
        cases=tuple(_case_record(c) for c in entry["cases"]),
    )


def _case_record(entry: Mapping[str, Any]) -> CaseRecord:
    alerts = tuple(
        AlertOutcome(name, bool(seen["fired"]), bool(seen["resolved"]))
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
        steps_duration=_optional_seconds(entry.get("steps_duration")),
        within=_optional_seconds(entry.get("within")),
        figures=tuple(figure_from_entry(f) for f in entry.get("figures", [])),
    )


def _optional_seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"seconds must be a number, not {value!r}")
    return float(value)


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
