"""status.json (schema "opsbook-status/1"): what verification proved, per runbook, for the site.

The schema is `status.schema.json` next to this module and is documented in docs/ci.md.
Outputs are masked before they reach here; this writer only trims them to an excerpt.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from opsbook.execute.events import StepResult
from opsbook.verify_result import CaseResult, RunbookVerification

SCHEMA_ID = "opsbook-status/1"
EXCERPT_CHARS = 4000
_MARKER = "\n[... {n} characters trimmed ...]\n"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """At most about `limit` characters: the start and the end, trimmed in the middle."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 5
    tail = limit - head
    return text[:head] + _MARKER.format(n=len(text) - head - tail) + text[-tail:]


def _step(result: StepResult) -> dict[str, Any]:
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


def _case(case: CaseResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "case": case.case,
        "result": "passed" if case.passed else "failed",
        "scenario": case.scenario,
        "alerts": {a.name: {"fired": a.fired, "resolved": a.resolved} for a in case.alerts},
        "steps": [_step(s) for s in case.steps],
    }
    if case.params:
        entry["params"] = dict(case.params)
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
        "cases": [_case(c) for c in verification.cases],
    }


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def build_status(
    verifications: Iterable[RunbookVerification],
    commit: str | None,
    generated_at: str | None = None,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A status document; entries of `previous` not verified this time are kept as they were."""
    runbooks: dict[str, Any] = {}
    if previous is not None and previous.get("schema") == SCHEMA_ID:
        runbooks.update(previous.get("runbooks", {}))
    for v in verifications:
        runbooks[v.runbook_id] = runbook_status(v)
    return {
        "schema": SCHEMA_ID,
        "generated_at": generated_at or utc_now(),
        "commit": commit,
        "runbooks": dict(sorted(runbooks.items())),
    }


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


def load_status(path: Path) -> dict[str, Any] | None:
    """The status document at `path`, or None if there is none (or it is not ours)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("schema") == SCHEMA_ID else None


def write_status(path: Path, document: Mapping[str, Any]) -> Path:
    """Write atomically (temp file + rename) so the site never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(document, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def schema() -> dict[str, Any]:
    """The JSON Schema of status.json (draft 2020-12)."""
    text = resources.files("opsbook.results").joinpath("status.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
