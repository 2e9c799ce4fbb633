"""The drill report: JSON that reads back the same, Markdown for people, clear errors for a bad file."""

from __future__ import annotations

import json
from html import unescape
from dataclasses import replace
from pathlib import Path

import markdown
import pytest

from opsbook.drill.report import (
    DrillReportError,
    Outcome,
    RunRecord,
    load_report,
    render_report,
    report_json,
    write_report,
)
from tests.drill.support import at, sample_report, stamp


def test_the_json_reads_back_as_the_same_report(tmp_path: Path) -> None:
    report = sample_report()
    json_path, md_path = write_report(tmp_path / "out", report)
    assert load_report(json_path) == report == load_report(tmp_path / "out")
    data = json.loads(json_path.read_text())
    assert data["schema"] == "opsbook-drill/1"
    assert data["times"]["detect"] == {"at": stamp(at(32)), "seconds": 32.0}
    assert data["times"]["mitigate"]["seconds"] == 117.0
    assert md_path.read_text() == render_report(report)


def test_markdown_reveals_the_scenario_and_gives_the_three_times_or_not_reached() -> None:
    text = render_report(sample_report())
    assert "# Drill: app&#45;down" not in text and "# Drill: app-down" in text
    assert "(picked at random; the responder was not told)" in text
    assert "| Time to detect | 32.0 s | 2026-11-26 03:12:36 UTC |" in text
    assert "| Time to the first runbook step | 57.0 s |" not in text  # first step is 61 s after
    assert "| Time to the first runbook step | 1 min 01 s |" in text
    assert "| Time to mitigate | 1 min 57 s |" in text
    assert "| HighErrorRate | no | already firing at the injection |" in text
    assert "incidents/application-down" in text and "**mitigated**" in text
    late = render_report(sample_report(outcome=Outcome.NOT_MITIGATED, times={"detect": None}, alerts=(),
                                       records=()))
    assert late.count("| not reached |") == 3 and "**not mitigated in time** (within 30 min 00 s)" in late
    assert "No alert fired during the drill." in late and "No `opsbook run`" in late


def test_what_a_record_holds_cannot_become_markup_in_the_report() -> None:
    hostile = "<img src=x onerror=alert(1)> **b** [x](javascript:alert(1)) | `c`"
    report = sample_report(records=(RunRecord("r", "incidents/x", hostile, "sandbox", stamp(at(1)), None, "running"),))
    html = markdown.markdown(render_report(report), extensions=["tables"])
    row = next(line for line in html.split("</tr>") if "onerror" in line)
    assert row.count("<td>") == 6
    assert not any(tag in row for tag in ("<img", "<strong>", "<a ", "<code>"))
    assert "**b** [x](javascript:alert(1)) | `c`" in unescape(row)


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such drill report"),
    ("{not json", "not JSON"),
    ('{"schema": "opsbook-status/1"}', "not an opsbook drill report (schema 'opsbook-status/1'"),
    ("[]", "the report is not a JSON object"),
])
def test_a_file_that_is_no_report_is_an_error_naming_it(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DrillReportError) as raised:
        load_report(path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)


def test_a_bad_field_is_named(tmp_path: Path) -> None:
    data = report_json(sample_report())
    data["times"]["detect"]["at"] = "yesterday"
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DrillReportError, match=r"field 'times\.detect\.at' must be a UTC time"):
        load_report(path)
    data = report_json(replace(sample_report()))
    data["records"][0]["operator"] = 7
    path.write_text(json.dumps(data))
    with pytest.raises(DrillReportError, match=r"field 'records\[0\]\.operator' must be a string, not 7"):
        load_report(path)
    data["records"] = []
    data["outcome"] = "won"
    path.write_text(json.dumps(data))
    with pytest.raises(DrillReportError, match="field 'outcome' must be one of mitigated"):
        load_report(path)
