"""The post-mortem draft: the template's headings, a timeline from real records, escaping, secrets, errors."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import markdown
import pytest
from markdown_it import MarkdownIt

from opsbook.errors import RecordError
from opsbook.postmortem.draft import HEADINGS, render_postmortem
from opsbook.postmortem.timeline import read_run_record, timeline
from opsbook.run.events import RunStatus, StepStatus
from opsbook.runbook.model import Param
from tests.drill.support import T0, app_runbook, at, person_run, sample_report, write_record
from tests.support import REPO
from tests.support.transcripts import RunBuilder, make_runbook

HOSTILE = ("<script>alert(1)</script> **bold** _em_ [click](javascript:alert(1)) ![i](http://x.example/i.png) "
           "| cell | `code` ~~gone~~ http://evil.example www.evil.example :smile: ++ctrl+alt++ &amp; <b>b</b>"
           "\x1b]0;title\x07\x9b31m")
SECRET = "s3cr3t-token-value"


def _template_headings() -> list[str]:
    guide = (REPO / "docs" / "incident-response.md").read_text()
    section = guide.split("## Post-mortem", 1)[1]
    template = section.split("```markdown", 1)[1].split("```", 1)[0]
    return re.findall(r"^## (.+)$", template, flags=re.MULTILINE)


def test_the_draft_has_the_headings_of_the_template_in_the_incident_guide(tmp_path: Path) -> None:
    assert list(HEADINGS) == _template_headings()
    record = read_run_record(write_record(tmp_path / "r", *person_run(at(60))))
    draft = render_postmortem([record])
    assert re.findall(r"^## (.+)$", draft, flags=re.MULTILINE) == list(HEADINGS)
    assert draft.startswith("# Post-mortem: <title> (2026-11-26, SEV<n>)\n")
    assert "<Three sentences: what happened" in draft and "| <...> | <...> | <name> | <link> | <date> |" in draft


def test_the_timeline_lists_runs_and_steps_in_time_order_with_operator_status_and_output(tmp_path: Path) -> None:
    book = app_runbook()
    bob = RunBuilder(book, at(90).isoformat()).start(operator="bob")
    bob.step("find-cause", stdout="line 1\nline 2\ncause: app stopped\n", duration=2)
    bob.step("fix-cause", stderr="docker: no such container\n", status=StepStatus.FAILED, exit_status=1,
             reason="exit status 1 (expected 0)", attempt=3, attempts=3)
    bob.finish(RunStatus.FAILED)
    records = [read_run_record(write_record(tmp_path / "alice", *person_run(at(60)))),
               read_run_record(write_record(tmp_path / "bob", book, bob.events))]
    rows = [line for line in render_postmortem(records).splitlines() if re.match(r"\| \d\d:", line)]
    assert rows[0] == "| 03:13:04 | run started | alice | incidents/application-down |  | on target sandbox |  |"
    assert rows[1] == ("| 03:13:05 | step | alice | incidents/application-down | find-cause | passed "
                       "| cause&#58; app stopped |")
    bob_rows = [r for r in rows if "| bob |" in r]
    assert bob_rows[1].endswith("| find-cause | passed | line 2 ⏎ cause&#58; app stopped |")  # the last two lines
    assert bob_rows[2] == ("| 03:13:36 | step | bob | incidents/application-down | fix-cause | failed after 3 "
                           "attempts: exit status 1 &#40;expected 0&#41; | docker&#58; no such container |")
    assert bob_rows[3].startswith("| 03:13:36 | run finished | bob |")
    assert "failed: 1 step&#40;s&#41; not run" in bob_rows[3]
    assert [r.split(" | ")[0] for r in rows] == sorted(r.split(" | ")[0] for r in rows)


def test_a_drill_report_adds_its_events_times_and_alerts(tmp_path: Path) -> None:
    record = read_run_record(write_record(tmp_path / "r", *person_run(at(60))))
    draft = render_postmortem([record], sample_report())
    assert draft.startswith("# Post-mortem: Drill app-down (2026-11-26, SEV<n>)")
    assert "| 03:12:04 | fault injected |  |  |  | drill: app&#45;down" not in draft
    assert "| 03:12:04 | fault injected |  |  |  | drill: app-down&#58; The app container is stopped. |  |" in draft
    assert "| 03:12:36 | alert fired |  |  | ApplicationDown |  |  |" in draft
    assert "| 03:14:01 | mitigated |" in draft and "| 03:14:14 | drill ended |  |  |  | mitigated |  |" in draft
    assert "- Time to detect (first symptom to alert or report): 32.0 s (drill:" in draft
    assert "- Time to mitigate (declared to users no longer affected): 1 min 57 s (drill:" in draft
    assert "the first runbook step came 1 min 01 s after the injection" in draft
    assert "| HighErrorRate | no | already firing at the injection | 2026-11-26 03:12:14 UTC (+10.0 s) |" in draft
    assert "The drill counted records that are not in this draft" in draft  # the report's record is elsewhere
    only_report = render_postmortem([], sample_report())
    assert "Built from 0 run record(s) and the drill report" in only_report


def _renderings(text: str) -> list[str]:
    python_markdown = markdown.markdown(text, extensions=["tables", "pymdownx.keys", "pymdownx.emoji", "attr_list",
                                                          "md_in_html", "pymdownx.superfences"])
    commonmark = MarkdownIt("commonmark").enable("table").enable("strikethrough").render(text)
    return [python_markdown, commonmark]


def test_hostile_output_cannot_become_markup_a_link_or_a_cell(tmp_path: Path) -> None:
    book = app_runbook()
    run = RunBuilder(book, T0.isoformat()).start(operator="<img src=x onerror=alert(1)>")
    run.step("find-cause", stdout=HOSTILE + "\n", status=StepStatus.FAILED, exit_status=1, reason=HOSTILE)
    run.finish(RunStatus.FAILED)
    draft = render_postmortem([read_run_record(write_record(tmp_path / "r", book, run.events))])
    assert "\x1b" not in draft and "\x9b" not in draft and "\x07" not in draft
    for html in _renderings(draft):
        row = next(part for part in html.split("</tr>") if "find-cause" in part)
        assert row.count("<td>") == 7
        for tag in ("<script", "<strong", "<em", "<a ", "<img", "<s>", "<del", "<code", "<kbd", "<b>", "twemoji"):
            assert tag not in row, (tag, row)
        assert "**bold** _em_ [click](javascript:alert(1))" in unescape(row)


def test_a_secret_the_record_marks_never_reaches_the_draft(tmp_path: Path) -> None:
    book = make_runbook([("use-token", 'curl -H "$TOKEN"')], runbook_id="incidents/api",
                        params=(Param("TOKEN", secret=True), Param("REGION", "eu")))
    run = RunBuilder(book, T0.isoformat()).start(params=(("TOKEN", SECRET), ("REGION", "eu")))
    run.step("use-token", stdout=f"sent {SECRET}\n", stderr="\x1b[1m" + SECRET[:6] + "\x1b[0m" + SECRET[6:] + "\n",
             status=StepStatus.FAILED, exit_status=22, reason=f"token {SECRET} refused")
    run.finish(RunStatus.FAILED)
    record = read_run_record(write_record(tmp_path / "r", book, run.events))
    draft = render_postmortem([record])
    assert SECRET not in draft and SECRET.replace("-", "&#45;") not in draft
    assert "sent &#42;&#42;&#42;" in draft and "token &#42;&#42;&#42; refused" in draft


def test_a_folder_that_is_not_a_record_is_an_error_naming_it_and_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "events.jsonl").write_text('{"event": "nonsense"}\n{"event": "run_started"}\n')
    (tmp_path / "no-run").mkdir()
    (tmp_path / "no-run" / "events.jsonl").write_text("")
    cases = {tmp_path / "missing": "no such record folder", tmp_path / "file.txt": "not a folder",
             tmp_path / "empty": "not an opsbook run record (no events.jsonl)",
             tmp_path / "damaged": "events.jsonl:1: damaged event log line",
             tmp_path / "no-run": "events.jsonl: holds no run"}
    for path, message in cases.items():
        with pytest.raises(RecordError) as raised:
            read_run_record(path)
        assert str(raised.value).startswith(str(path)) and message in str(raised.value)


def test_a_record_cut_short_by_a_crash_still_gives_its_timeline(tmp_path: Path) -> None:
    folder = write_record(tmp_path / "r", *person_run(at(60)))
    with open(folder / "events.jsonl", "a") as log:
        log.write('{"event": "step_sta')
    record = read_run_record(folder)
    assert record.truncated and len(timeline([record])) == 5
    assert "its last line was cut short" in render_postmortem([record])
