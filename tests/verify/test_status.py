"""status.json: valid against its committed schema, merged across shards, trimmed outputs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from opsbook.verify.status import (
    SCHEMA_ID,
    build_status,
    excerpt,
    load_status_document,
    merge_status,
    schema,
    write_status,
)
from tests.support.verifications import failing_verification, passing_two_cases


def _validate(doc: dict) -> None:
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(doc)


def test_status_validates_and_carries_what_the_site_shows(tmp_path: Path) -> None:
    doc = build_status([failing_verification(), passing_two_cases()], commit="abc123", generated_at="2025-11-13T10:05:00+00:00")
    _validate(doc)
    path = write_status(tmp_path / "status.json", doc)
    loaded = json.loads(path.read_text())
    assert loaded["schema"] == SCHEMA_ID
    x = loaded["runbooks"]["incidents/x"]
    assert x["result"] == "failed"
    assert "restart-worker" in x["message"] and "fix:" in x["message"]
    (case,) = x["cases"]
    assert case["scenario"] == "worker-stuck"
    assert case["alerts"] == {"WorkerQueueBackedUp": {"fired": True, "resolved": False}}
    assert [s["status"] for s in case["steps"]] == ["passed", "failed", "not_run", "skipped"]
    assert case["steps"][1]["exit_status"] == 7
    assert case["steps"][1]["output"] == "restarting\n\x1b[31mred\x1b[0m \x07bell\nboom\n"
    deploy = loaded["runbooks"]["deployment/deploy"]
    assert deploy["result"] == "passed" and deploy["message"] == ""
    assert [c["case"] for c in deploy["cases"]] == ["good", "broken"]
    assert deploy["cases"][1]["params"] == {"VERSION": "broken"}


def test_schema_rejects_a_wrong_document() -> None:
    doc = build_status([passing_two_cases()], commit=None)
    doc["runbooks"]["deployment/deploy"]["result"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        _validate(doc)


def test_excerpt_keeps_both_ends() -> None:
    text = "START" + "x" * 10_000 + "END"
    cut = excerpt(text)
    assert cut.startswith("START") and cut.endswith("END")
    assert len(cut) < 4100 and "characters trimmed" in cut
    assert excerpt("short") == "short"


def test_rerun_of_one_runbook_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    write_status(path, build_status([failing_verification(), passing_two_cases()], commit="a"))
    again = build_status([passing_two_cases()], commit="b", previous=load_status_document(path))
    _validate(again)
    assert set(again["runbooks"]) == {"incidents/x", "deployment/deploy"}


def test_merge_of_shards_takes_newest_per_runbook() -> None:
    old = build_status([failing_verification()], commit="c1")
    newer = json.loads(json.dumps(old))
    newer["runbooks"]["incidents/x"]["verified_at"] = "2025-11-14T00:00:00+00:00"
    newer["runbooks"]["incidents/x"]["result"] = "passed"
    other = build_status([passing_two_cases()], commit="c1")
    merged = merge_status([newer, old, other])
    _validate(merged)
    assert merged["commit"] == "c1"
    assert merged["runbooks"]["incidents/x"]["result"] == "passed"
    assert set(merged["runbooks"]) == {"incidents/x", "deployment/deploy"}
    with pytest.raises(ValueError):
        merge_status([{"schema": "other/9"}])
