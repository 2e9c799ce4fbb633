"""The post-mortem draft: the template of docs/incident-response.md, filled from records and a drill report.

What records and the report know is filled in (the timeline, the detection and mitigation times,
the alerts); what only people know stays a `<placeholder>` of the template. Everything that
comes from a record or a report is escaped (`record.markdown.literal`): a step's output can
never become markup, a link or a table cell of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from opsbook.drill.report import MEASURES, OUTCOME_TEXT, DrillReport, alert_table, measured, moment_text
from opsbook.postmortem.timeline import (
    EXCERPT_CHARS,
    REASON_CHARS,
    RunRecordRead,
    TimelineEntry,
    first_step,
    timeline,
)
from opsbook.record.markdown import literal
from opsbook.text import display_path, format_time

HEADINGS = ("Summary", "Impact", "Timeline (UTC)", "Detection and mitigation", "Root cause", "What went well",
            "What went badly", "Where we were lucky", "Action items")
"""The template's sections, in its order (tests/postmortem checks them against docs/incident-response.md)."""


def _clock(moment: datetime, full: bool) -> str:
    return format_time(moment).removesuffix(" UTC") if full else format_time(moment, clock_only=True)


def _cell(text: str, limit: int | None = None) -> str:
    return literal(text, limit) if text else ""


def _row(entry: TimelineEntry, full_dates: bool) -> str:
    status = _cell(entry.status)
    if entry.detail:
        status += (": " if status else "") + _cell(entry.detail, REASON_CHARS)
    output = _cell(entry.excerpt, EXCERPT_CHARS)
    return (f"| {_clock(entry.at, full_dates)} | {_cell(entry.event)} | {_cell(entry.operator)} "
            f"| {_cell(entry.runbook)} | {_cell(entry.step)} | {status} | {output} |")


def render_postmortem(records: Sequence[RunRecordRead], drill: DrillReport | None = None, *,
                      root: Path | None = None) -> str:
    """The draft, in Markdown. `root` (the project) shortens the paths of records inside it."""
    entries = timeline(records, drill)
    first = entries[0].at if entries else None
    date = first.strftime("%Y-%m-%d") if first else "<date>"
    title = f"Drill {literal(drill.scenario)}" if drill is not None else "<title>"
    lines = [f"# Post-mortem: {title} ({date}, SEV<n>)", ""]
    lines += _summary(drill)
    lines += _impact(drill)
    lines += _timeline(entries, records, drill, root)
    lines += _detection(records, drill)
    lines += ["## Root cause", "<The chain of causes, each \"why\" answered, down to the ones we can change.>", "",
              "## What went well", "- <...>", "",
              "## What went badly", "- <...>", "",
              "## Where we were lucky", "- <...>", "",
              "## Action items",
              "| action | kind (prevent, detect, mitigate, process) | owner | ticket | due |",
              "| --- | --- | --- | --- | --- |",
              "| <...> | <...> | <name> | <link> | <date> |"]
    return "\n".join(lines) + "\n"


def _summary(drill: DrillReport | None) -> list[str]:
    lines = ["## Summary", "<Three sentences: what happened, how users were affected, how it was fixed.>"]
    if drill is not None:
        how = "automatically (`opsbook drill --auto`)" if drill.automatic else "by a person with the runbooks"
        lines += ["", f"This was a drill on the sandbox (project {literal(drill.project)}): fault "
                      f"{literal(drill.scenario)} ({literal(drill.summary) or 'no summary'}) was injected at "
                      f"{format_time(drill.injected_at) if drill.injected_at else 'no time (it never went in)'}"
                      f" and answered {how}; outcome: {OUTCOME_TEXT[drill.outcome]}."]
    return lines + [""]


def _impact(drill: DrillReport | None) -> list[str]:
    lines = ["## Impact",
             "- Users affected: <who, how many>",
             "- Duration of user impact: <HH:MM> to <HH:MM UTC> (<duration>)",
             "- Data lost or wrong: <none | what, how much, what was done about it>"]
    if drill is not None:
        lines.append("- In the drill: no user was affected (the sandbox); the symptom the fault caused: "
                     f"{literal(drill.symptom) or 'not described'}")
    return lines + [""]


def _timeline(entries: Sequence[TimelineEntry], records: Sequence[RunRecordRead], drill: DrillReport | None,
              root: Path | None) -> list[str]:
    sources = f"{len(records)} run record(s)" + (" and the drill report" if drill is not None else "")
    lines = ["## Timeline (UTC)",
             f"Built from {sources}. Add, in time order, what they cannot know: the first symptom, who "
             "acknowledged, when the incident was declared (SEV, IC), each decision, when it was resolved.", ""]
    full = len({e.at.date() for e in entries}) > 1
    lines += ["| time | event | operator | runbook | step | status | output |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [_row(e, full) for e in entries]
    lines += ["| <HH:MM> | <acknowledged by> | | | | | |",
              "| <HH:MM> | <incident declared, SEV<n>, IC> | | | | | |",
              "| <HH:MM> | <resolved> | | | | | |", ""]
    if records:
        lines.append("Records (each `transcript.md` has every command and its whole output):")
        lines.append("")
        for record in records:
            shown = display_path(record.transcript, root) if root is not None else str(record.transcript)
            cut = "; its last line was cut short (opsbook was killed while writing it)" if record.truncated else ""
            lines.append(f"- {literal(shown)}: runbook {literal(record.runbook_id)}, operator "
                         f"{', '.join(literal(o) for o in record.operators)}, target "
                         f"{', '.join(literal(t) for t in record.targets)}, {len(record.sessions)} session(s), "
                         f"{literal(record.status)}{cut}")
        lines.append("")
    if drill is not None:
        given = {str(r.path.resolve()) for r in records}
        missed = [r.path for r in drill.records if not _same(r.path, given, root)]
        if missed:
            lines += ["The drill counted records that are not in this draft (give them as RECORD_DIR too): "
                      + ", ".join(literal(p) for p in missed), ""]
    return lines


def _same(path: str, given: set[str], root: Path | None) -> bool:
    candidate = Path(path)
    if not candidate.is_absolute() and root is not None:
        candidate = root / candidate
    try:
        return str(candidate.resolve()) in given
    except OSError:
        return False


def _detection(records: Sequence[RunRecordRead], drill: DrillReport | None) -> list[str]:
    lines = ["## Detection and mitigation"]
    if drill is None:
        step = first_step(records)
        lines += ["- Time to detect (first symptom to alert or report): <minutes>",
                  "- Time to acknowledge (alert to acknowledgement): <minutes>",
                  "- Time to mitigate (declared to users no longer affected): <minutes>",
                  "- Time to resolve (declared to resolved): <minutes>",
                  f"- First runbook step (from the records): {format_time(step) if step else 'none recorded'}", ""]
        return lines
    counts = {measure: what for measure, _, what in MEASURES}
    lines += [f"- Time to detect (first symptom to alert or report): {measured(drill, 'detect')} "
              f"(drill: from the injection to {counts['detect']})",
              "- Time to acknowledge (alert to acknowledgement): <minutes> "
              f"(drill: the first runbook step came {measured(drill, 'first_step')} after the injection)",
              f"- Time to mitigate (declared to users no longer affected): {measured(drill, 'mitigate')} "
              f"(drill: from the injection to {counts['mitigate']})",
              "- Time to resolve (declared to resolved): <minutes>", ""]
    if drill.alerts:
        lines += ["Alerts during the drill:", ""]
    return lines + alert_table(drill) + [""]
