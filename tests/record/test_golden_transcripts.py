"""Golden transcripts: each case folder holds the events of a run and the expected transcript.

The input is ``<case>/events.jsonl`` (as opsbook writes it; the killed case ends in a
half-written line), the runbook comes from ``transcript_cases.py``. Times, durations and
paths are normalized before comparing. Regenerate with ``UPDATE_GOLDEN=1 pytest
tests/golden/transcripts`` and review the diff.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import nbformat
import pytest
from tests.support.transcripts import CASES

from opsbook.record.eventlog import TruncatedRecordWarning, append_events, read_events
from opsbook.record.notebook import build_notebook
from opsbook.record.transcript import render_transcript

HERE = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
HALF_LINE = '{"event":"step_output","index":2,"stream":"stdout","text":"Container sand'


def normalize(text: str) -> str:
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "<TIME>", text)
    text = re.sub(r"^### \d\d:\d\d:\d\d ·", "### <CLOCK> ·", text, flags=re.M)
    text = re.sub(r"\b\d+(\.\d+)? s\b|\b\d+ min \d\d s\b|\b\d+ h \d\d min\b", "<DURATION>", text)
    text = re.sub(r"`runbooks/[^`]*\.md`", "`<PATH>`", text)
    return text


@pytest.mark.parametrize("case", sorted(CASES))
def test_transcript_matches_golden(case: str) -> None:
    folder = HERE / case
    runbook, events = CASES[case]()
    if UPDATE:
        folder.mkdir(exist_ok=True)
        (folder / "events.jsonl").unlink(missing_ok=True)
        append_events(folder / "events.jsonl", events)
        if case == "killed-mid-step":
            with open(folder / "events.jsonl", "a", encoding="utf-8") as f:
                f.write(HALF_LINE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recorded = read_events(folder / "events.jsonl")
    truncated = [w for w in caught if issubclass(w.category, TruncatedRecordWarning)]
    assert bool(truncated) == (case == "killed-mid-step")
    assert recorded == events  # the log holds exactly what the run emitted
    actual = render_transcript(runbook, recorded)
    if UPDATE:
        (folder / "expected.md").write_text(actual, encoding="utf-8")
    expected = (folder / "expected.md").read_text(encoding="utf-8")
    assert normalize(actual) == normalize(expected)
    nbformat.validate(build_notebook(runbook, recorded))


def test_normalization_keeps_what_matters() -> None:
    # A golden test that normalized away statuses or exit codes could never fail.
    text = "### 20:15:00 · Step 2 · x\n- Status: **failed**, exit code 3, 1.25 s\n"
    assert normalize(text) == "### <CLOCK> · Step 2 · x\n- Status: **failed**, exit code 3, <DURATION>\n"


def test_secret_param_value_is_never_in_a_transcript() -> None:
    runbook, events = CASES["all-passed"]()
    assert "hunter2" not in render_transcript(runbook, events)
    assert "REDIS_PASSWORD=***" in render_transcript(runbook, events)


def test_output_cannot_close_its_fence() -> None:
    runbook, events = CASES["killed-mid-step"]()
    text = render_transcript(runbook, events)
    # The output contains ``` and ````: its fence must be longer, and open and close alike.
    assert "`````text\n" in text
    block = text.split("`````text\n", 1)[1].split("\n`````\n", 1)[0]
    assert "````markdown" in block and "progress 90%" in block
