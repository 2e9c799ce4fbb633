"""`opsbook postmortem`: the command line of a post-mortem draft (the work is in `opsbook.postmortem`)."""

from __future__ import annotations

from pathlib import Path

import click

from opsbook.errors import RecordError, UsageError

EPILOG = """\b
Examples:
  opsbook postmortem .opsbook/runs/20261126T031500Z-incidents-application-down
  opsbook postmortem .opsbook/runs/2026112*-incidents-* --out postmortem-2026-11-26.md
  opsbook postmortem RECORD_DIR --drill .opsbook/drills/20261126T031200Z-app-down/report.json

\b
The draft has the headings of the template in docs/incident-response.md. Filled in:
the timeline (UTC time, operator, runbook, step, status, the end of what the step
printed) from the records; with --drill, the injection, the alerts fired and
resolved, and the times to detect, to the first runbook step and to mitigate.
Everything else is a <placeholder> for the people who were there.

\b
Exit status: 0 written, 2 a RECORD_DIR that is not a run record, a report that
does not parse, or an --out file that exists."""


@click.command("postmortem", epilog=EPILOG)
@click.argument("records", nargs=-1, type=click.Path(path_type=Path), metavar="RECORD_DIR...")
@click.option("--drill", "drill_report", type=click.Path(path_type=Path), metavar="REPORT_JSON",
              help="The report.json of the drill these records answer: its alerts and times go in the draft.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write the draft to FILE (never replaced: a draft may hold edits) instead of stdout.")
def postmortem(records: tuple[Path, ...], drill_report: Path | None, out: Path | None) -> None:
    """A post-mortem draft in Markdown from `opsbook run` records (and a drill's report)."""
    from opsbook.drill.report import DrillReportError, load_report
    from opsbook.postmortem.draft import render_postmortem
    from opsbook.postmortem.timeline import read_run_record
    from opsbook.runbook.discover import project_root
    from opsbook.text import write_atomically

    if not records and drill_report is None:
        raise UsageError("give the RECORD_DIR of each `opsbook run` of the incident (.opsbook/runs/...), "
                         "and --drill REPORT_JSON for a drill")
    if out is not None and out.exists():
        raise UsageError(f"{out} exists: a draft may hold edits, so it is not replaced; choose another --out")
    try:
        read = [read_run_record(path) for path in records]
        report = load_report(drill_report) if drill_report is not None else None
    except (RecordError, DrillReportError) as exc:
        raise UsageError(str(exc)) from exc
    text = render_postmortem(read, report, root=project_root())
    if out is None:
        click.echo(text, nl=False)
        return
    write_atomically(out, text)
    click.echo(f"post-mortem draft: {out}", err=True)
