"""`opsbook verify --summary`: a Markdown table of runbooks and cases, failures first, in which
nothing a runbook or a command printed becomes markup."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from opsbook.verify.summary import cell, markdown_summary

OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]


def _case(name: str, result: str, message: str = "", **extra: object) -> dict:
    return {"case": name, "result": result, "scenario": extra.pop("scenario", None), "alerts": {}, "message": message,
            "steps": [{"name": "a", "status": "passed"}, {"name": "b", "status": result}], **extra}


RUNBOOKS = {
    "incidents/fine": {"result": "passed", "verified_at": "2026-12-03T10:00:00Z",
                       "cases": [_case("default", "passed", steps_duration=12.34, scenario="db-down")]},
    "database/drill": {"result": "failed", "verified_at": "2026-12-03T10:00:00Z",
                       "cases": [_case("default", "failed", "step 'judge' failed | <img src=x onerror=alert(1)> **x**\nmore",
                                       figures=[{"name": "RTO", "value": 41.7, "unit": "s", "target": 1}])]},
}


def test_the_table_lists_failures_first_with_their_cause_and_figures_escaped() -> None:
    text = markdown_summary(RUNBOOKS)
    lines = text.splitlines()
    assert lines[0] == "### opsbook verify: 1 of 2 cases failed (2 runbooks)"
    assert lines[2] == "| runbook | case | result | steps | time | notes |"
    failed, passed = lines[4], lines[5]
    assert failed.startswith("| database/drill | default | ❌ failed | 1/2 |")
    assert "RTO 41.7 s (target 1)" in failed and "more" not in failed
    assert "<img" not in text and "&lt;img" in failed and "\\*\\*x\\*\\*" in failed and "&#124;" in failed
    assert failed.count(" | ") == 5, "a pipe in a message must not open a column"
    assert passed == "| incidents/fine | default | ✅ passed | 2/2 | 12 s | fault db-down |"


def test_a_cell_drops_escape_sequences_and_line_breaks() -> None:
    assert cell("\x1b[31mred\x1b[0m\nnext [link](javascript:x)") == "red next \\[link\\](javascript:x)"


def test_merge_appends_the_summary_and_fails_naming_a_missing_shard(tmp_path: Path) -> None:
    def shard(index: int, rid: str) -> Path:
        folder = tmp_path / f"shard-{index}"
        folder.mkdir()
        doc = {"schema": "opsbook-status/1", "generated_at": "2026-12-03T10:00:00Z", "commit": None,
               "shard": {"index": index, "count": 3, "runbooks": [rid]}, "runbooks": {rid: RUNBOOKS["incidents/fine"]}}
        (folder / "status.json").write_text(json.dumps(doc))
        return folder

    summary = tmp_path / "summary.md"
    summary.write_text("earlier step's summary\n")
    args = [*OPSBOOK, "verify", "--merge", str(shard(1, "incidents/fine")), str(shard(2, "incidents/other")),
            "--out", str(tmp_path / "merged"), "--summary", str(summary)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, env={"NO_COLOR": "1", "COLUMNS": "200",
                                                                                  "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "shard 3/3 is missing" in done.stdout
    assert json.loads((tmp_path / "merged" / "status.json").read_text())["runbooks"].keys() == {"incidents/fine",
                                                                                                "incidents/other"}
    text = summary.read_text()
    assert text.startswith("earlier step's summary\n") and "### opsbook verify, all shards: all 2 cases" in text
