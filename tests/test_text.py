"""The shared helpers, and the promise they exist for: every writer shows a step's time and duration alike."""

from __future__ import annotations

import os
import re
import stat
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest

from opsbook.record.transcript import render_transcript
from opsbook.run.events import RunResult, RunStatus, StepStatus
from opsbook.site import render
from opsbook.text import (
    fenced,
    format_duration,
    format_time,
    parse_time,
    stale_temporaries,
    terminal_text,
    utc_now,
    write_atomically,
)
from opsbook.verify.junit import junit_xml
from opsbook.verify.result import CaseResult, RunbookVerification
from opsbook.verify.status import build_status, status_from_document
from tests.support.transcripts import RunBuilder, make_runbook


@pytest.mark.parametrize("seconds, shown", [
    (0.4217, "0.42 s"), (9.994, "9.99 s"), (12.34, "12.3 s"), (59.94, "59.9 s"),
    (125.3, "2 min 05 s"), (3599.4, "59 min 59 s"), (3720, "1 h 02 min"), (None, "—"),
])
def test_one_duration_format(seconds: float | None, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_utc_now_is_what_records_store_and_parse_reads_back() -> None:
    now = utc_now()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", now), now
    moment = parse_time(now)
    assert moment.tzinfo is not None and abs((datetime.now(timezone.utc) - moment).total_seconds()) < 5
    assert parse_time("2026-11-26T20:15:03+01:00") == datetime(2026, 11, 26, 19, 15, 3, tzinfo=timezone.utc)
    assert parse_time("2026-11-26T20:15:03") == datetime(2026, 11, 26, 20, 15, 3, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_format_time_shows_utc_and_leaves_non_times_alone() -> None:
    assert format_time("2026-11-26T20:15:03.042Z") == "2026-11-26 20:15:03 UTC"
    assert format_time(datetime(2026, 11, 26, 21, 15, 3, tzinfo=timezone.utc), clock_only=True) == "21:15:03"
    assert format_time("not a time") == "not a time" and format_time(None) == "—"


def test_terminal_text_drops_escapes_and_applies_carriage_returns() -> None:
    raw = "\x1b[31mred\x1b[0m \x1b]0;title\x07ok\x1b]52;c;Y2xpcA==\x1b\\\nprogress 10%\rprogress 100%\n\x07bell"
    assert terminal_text(raw) == "red ok\nprogress 100%\nbell"


def test_fenced_cannot_be_closed_by_its_content() -> None:
    block = fenced("a ```` b\n", "text")
    assert block.startswith("`````text\n") and block.endswith("\n`````\n")


def test_write_atomically_replaces_whole_files_with_the_mode_asked(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "secret.env"
    write_atomically(target, "KEY=one\n", mode=0o600)
    assert target.read_text() == "KEY=one\n" and stat.S_IMODE(target.stat().st_mode) == 0o600
    write_atomically(target, "KEY=two\n")
    assert target.read_text() == "KEY=two\n"
    assert not stale_temporaries(target) and os.listdir(target.parent) == ["secret.env"]


def test_write_atomically_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "status.json"
    write_atomically(target, "old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(target, "new \udcff\n")  # a lone surrogate cannot be written as UTF-8
    assert target.read_text() == "old\n" and not stale_temporaries(target)


def test_a_step_reads_the_same_in_transcript_junit_status_and_site() -> None:
    """One step of 125.3 s started at 20:15:00 UTC: every reader sees `2 min 05 s` and one instant."""
    runbook = make_runbook([("drain-queue", "sleep 125")])
    run = RunBuilder(runbook).start().step("drain-queue", duration=125.3).finish(RunStatus.PASSED)
    step = run.results[1]
    assert step.status is StepStatus.PASSED

    transcript = render_transcript(runbook, run.events)
    assert "2 min 05 s" in transcript and "2026-11-26 20:15:00 UTC" in transcript

    result = RunResult(runbook.id, "sandbox", RunStatus.PASSED, step.started_at or "", utc_now(), (step,))
    case = CaseResult("default", None, step.started_at or "", 125.3, run=result)
    verification = RunbookVerification(runbook.id, runbook.title, "runbooks/x.md", step.started_at or "", 125.3, (case,))
    suite = ET.fromstring(junit_xml([verification], hostname="ci")).find("testsuite")
    assert suite is not None and suite.get("timestamp") == "2026-11-26T20:15:00"
    assert suite.find("testcase").get("time") == "125.300"  # type: ignore[union-attr]

    document = build_status([verification], commit=None)
    entry = document["runbooks"][runbook.id]
    assert parse_time(entry["verified_at"]) == parse_time(step.started_at or "")
    assert entry["cases"][0]["steps"][0]["duration"] == 125.3

    read = status_from_document(document).get(runbook.id)
    assert read is not None
    card = render.ci_output(read.cases[0].steps[0], read)
    assert "2 min 05 s" in card and "2026-11-26 20:15:00 UTC" in card
