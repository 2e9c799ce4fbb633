"""`opsbook verify`: the command line and the terminal display of a verification (no logic)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from opsbook.cli.console import make_console
from opsbook.cli.progress import progress_display
from opsbook.errors import OpsbookError, UsageError
from opsbook.run.events import Event, Listener, StepFinished, StepStarted, StepStatus
from opsbook.runbook.model import Runbook
from opsbook.text import display_path, format_duration
from opsbook.verify.result import RunbookVerification

_MARKS = {
    StepStatus.PASSED: "[green]✓[/]",
    StepStatus.FAILED: "[red]✗[/]",
    StepStatus.TIMED_OUT: "[red]⏱[/]",
    StepStatus.INTERRUPTED: "[yellow]![/]",
    StepStatus.SKIPPED: "[dim]-[/]",
    StepStatus.NOT_RUN: "[dim]·[/]",
}


class _StepLines:
    """Runner listener: one line per step as it starts (live terminals) and as it ends."""

    def __init__(self, display: TerminalReporter, runbook: Runbook, case: str) -> None:
        self.display, self.runbook, self.case = display, runbook, case
        self.total = len(runbook.steps)

    def on_event(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            attempt = f" (attempt {event.attempt})" if event.attempt > 1 else ""
            self.display.status(f"{self.runbook.id} [{self.case}]: step {event.index}/{self.total} "
                                f"{event.name}{attempt}")
        elif isinstance(event, StepFinished):
            r = event.result
            detail = f" — {r.reason}" if r.reason and r.status is not StepStatus.PASSED else ""
            self.display.line(f"    {_MARKS[r.status]} {escape(r.name)} [dim]{format_duration(r.duration)}{escape(detail)}[/]")


class TerminalReporter:
    """Progress on the terminal: what runs now (a spinner on a live terminal), then a line per step."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.done = 0
        # Started with the first runbook: the sandbox shows its own live progress while it comes up.
        self._status: Any = None

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()

    def status(self, text: str) -> None:
        if self._status is not None:
            self._status.update(f"[{self.done + 1}/{self.total}] {escape(text)}")

    def line(self, markup: str) -> None:
        self.console.print(markup)

    # Reporter protocol

    def runbook_started(self, runbook: Runbook) -> None:
        if self._status is None and self.console.is_terminal:
            self._status = self.console.status("", spinner="dots")
            self._status.start()
        cases = f" ({len(runbook.verify)} cases)" if len(runbook.verify) > 1 else ""
        self.line(f"[bold]{escape(runbook.id)}[/]{cases} [dim]{escape(runbook.title)}[/]")

    def phase(self, runbook: Runbook, case: str, text: str) -> None:
        self.status(f"{runbook.id} [{case}]: {text}")
        if text != "steps":
            self.line(f"  [dim]{escape(case)}: {escape(text)}[/]")

    def listener(self, runbook: Runbook, case: str) -> Listener:
        return _StepLines(self, runbook, case)

    def runbook_finished(self, verification: RunbookVerification) -> None:
        self.done += 1
        mark = "[green]passed[/]" if verification.passed else "[red]FAILED[/]"
        self.line(f"  {mark} in {format_duration(verification.duration)}")
        if not verification.passed:
            for line in verification.message.splitlines():
                self.line(f"  [red]{escape(line)}[/]")


def summary_table(verifications: list[RunbookVerification] | tuple[RunbookVerification, ...]) -> Table:
    table = Table(title="opsbook verify", title_justify="left")
    for column in ("runbook", "case", "result", "steps", "time", "what failed"):
        table.add_column(column, overflow="fold")
    for v in verifications:
        for case in v.cases:
            passed = sum(1 for s in case.steps if s.status is StepStatus.PASSED)
            skipped = sum(1 for s in case.steps if s.status is StepStatus.SKIPPED)
            steps = f"{passed}/{len(case.steps)}" + (f" ({skipped} skipped)" if skipped else "")
            result = "[green]passed[/]" if case.passed else "[red]failed[/]"
            first = case.message.splitlines()[0] if case.message else ""
            table.add_row(escape(v.runbook_id), escape(case.case), result, steps, format_duration(case.duration),
                          escape(first))
    return table


EPILOG = """\b
Examples:
  opsbook verify                              every runbook under runbooks/
  opsbook verify runbooks/incidents           one folder
  opsbook verify --shard 2/3                  a third of them, in their own sandbox
  opsbook verify --keep-sandbox               leave the sandbox up to look around
  opsbook verify --merge build/verify/shard-*/     combine shard results
  opsbook verify --summary "$GITHUB_STEP_SUMMARY"  a Markdown table for the CI run's page
  opsbook verify --changed origin/main        only what this branch can affect (pull requests)
  opsbook verify --plan 4                     how 4 shards would split the runbooks, verifying nothing

\b
For each runbook (and each of its `verify:` cases): reset the sandbox; if it
names a scenario, check its diagnose steps fail on the healthy sandbox, inject
the fault and wait for its alerts to fire; run every step (ci="skip" steps are
recorded as skipped); then check the sandbox is healthy and the alerts resolved.

\b
Writes to --out (default build/verify/, per shard build/verify/shard-I-of-N/):
  junit.xml      one testsuite per runbook, one testcase per step and check
  status.json    what the site shows (schema opsbook-status/1, docs/ci.md)
  notebooks/     one executed notebook per runbook (and case)
  records/       transcript.md, events.jsonl per runbook and case

\b
Shards are balanced by the durations the last status.json recorded (--durations): every
shard, given the same file, computes the same split. --merge fails (exit 1) naming each
shard that is missing, did not verify a runbook it was given, or had a runbook fail.

\b
Exit status: 0 every runbook passed, 1 a verification failed (or, with --merge, a shard
is missing or failed), 2 usage error or a runbook that cannot be read."""


@click.command("verify", epilog=EPILOG)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--shard", metavar="I/N",
              help="Verify shard I of N (a share balanced by recorded durations, own sandbox).")
@click.option("--durations", type=click.Path(dir_okay=False, path_type=Path), metavar="STATUS_JSON",
              help="With --shard: balance by the durations in this status.json [default: build/verify/status.json].")
@click.option("--changed", "changed_base", is_flag=False, flag_value="HEAD", default=None, metavar="[BASE]",
              help="Only the runbooks a change since BASE can affect (default HEAD: uncommitted changes), each with why.")
@click.option("--summary", "summary_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also write a Markdown table of runbooks and cases to FILE (e.g. $GITHUB_STEP_SUMMARY; appended).")
@click.option("--junit", "junit", type=click.Path(dir_okay=False, path_type=Path),
              help="JUnit XML file [default: OUT/junit.xml].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Results directory [default: build/verify].")
@click.option("--keep-sandbox", is_flag=True, help="Leave the sandbox running afterwards.")
@click.option("--project", metavar="NAME",
              help="Sandbox compose project [default: opsbook-verify, or opsbook-shard-I-of-N].")
@click.option("--alert-timeout", type=float, default=180.0, show_default=True, metavar="SECONDS",
              help="How long to wait for alerts to fire after the fault, and to resolve after the steps.")
@click.option("--merge", is_flag=True,
              help="PATHs are status.json files (or folders holding one) of shards: merge them into OUT/status.json.")
@click.option("--plan", "plan_count", type=click.IntRange(1, 256), metavar="N",
              help="Verify nothing: print how N shards would split the runbooks (by --durations), and the "
                   "slowest shard's predicted time.")
@click.option("--github-output", "github_output", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help='With --plan: append matrix={"shard":[1,...,N]} and count=N to FILE ($GITHUB_OUTPUT).')
def verify(paths: tuple[Path, ...], shard: str | None, durations: Path | None, changed_base: str | None,
           summary_file: Path | None,
           junit: Path | None, out: Path | None, keep_sandbox: bool, project: str | None, alert_timeout: float,
           merge: bool, plan_count: int | None, github_output: Path | None) -> None:
    """Prove runbooks against the disposable docker compose sandbox.

    PATH is a runbook file or a folder of runbooks (default: runbooks/).
    """
    from opsbook.runbook.discover import project_root
    from opsbook.verify.shard import Shard
    from opsbook.verify.suite import VerifyRequest, run_verification, select

    console = make_console()
    root = project_root()
    try:
        if merge:
            if not paths or shard:
                raise UsageError("--merge takes the shards' status.json files as PATHs, and no --shard")
            raise SystemExit(_merge(paths, (out or root / "build" / "verify") / "status.json", console, summary_file))
        if github_output is not None and plan_count is None:
            raise UsageError("--github-output writes the shard matrix of --plan N: give --plan too")
        if plan_count is not None:
            if shard or merge or changed_base is not None:
                raise UsageError("--plan N prints the split of the whole selection: leave out --shard, --merge and --changed")
            raise SystemExit(_plan(root, paths, plan_count, durations, github_output, console))
        if durations is not None and not shard:
            raise UsageError("--durations balances shards: give it with --shard I/N (or --plan N)")
        request = VerifyRequest(root=root, paths=tuple(paths), out=out, junit=junit,
                                shard=Shard.parse(shard) if shard else None, project=project,
                                keep_sandbox=keep_sandbox, alert_timeout=alert_timeout, durations=durations)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from exc
    started = time.monotonic()
    try:
        runbooks, unreadable, listed = select(request)
    except OpsbookError as exc:
        raise click.UsageError(str(exc)) from exc
    if changed_base is not None:
        if request.shard is not None:
            raise click.UsageError("--changed picks the runbooks of a change; shards are for the whole library")
        try:
            runbooks, unreadable = _changed_only(root, changed_base, runbooks, unreadable, console)
        except OpsbookError as exc:
            raise click.UsageError(str(exc)) from exc
        if not runbooks and not unreadable:
            console.print(f"no runbook is affected by the change since {changed_base}: nothing to verify")
            raise SystemExit(0)
    total = len(runbooks)
    if request.shard is not None:
        console.print(f"shard {request.shard}: {total} of {listed} runbooks, "
                      f"sandbox project {request.sandbox_project}")
    display = TerminalReporter(console, total)
    try:
        outcome = run_verification(request, reporter=display, up_progress=progress_display,
                                   selection=(runbooks, unreadable))
    finally:
        display.stop()
    if outcome.verifications:
        console.print(summary_table(list(outcome.verifications)))
    elif request.shard is not None:
        console.print(f"no runbooks fall in shard {request.shard}; nothing to verify")
    else:
        console.print("no runbooks found")
    failed = sum(1 for v in outcome.verifications if not v.passed)
    elapsed = time.monotonic() - started
    verdict = "[green]all passed[/]" if not failed else f"[red]{failed} of {len(outcome.verifications)} failed[/]"
    console.print(f"{verdict} in {format_duration(elapsed)} — JUnit: {outcome.junit}, status: {outcome.status}")
    if summary_file is not None:
        from opsbook.verify.status import runbook_status
        from opsbook.verify.summary import markdown_summary

        title = f"opsbook verify, shard {request.shard}" if request.shard else "opsbook verify"
        _append(summary_file, markdown_summary({v.runbook_id: runbook_status(v) for v in outcome.verifications}, title))
    raise SystemExit(outcome.exit_status)


def _changed_only(root: Path, base: str, runbooks: list[Runbook], unreadable: list[RunbookVerification],
                  console: Console) -> tuple[list[Runbook], list[RunbookVerification]]:
    """The runbooks (and unreadable files) a change since `base` affects; prints why for each."""
    from opsbook.sandbox import Sandbox
    from opsbook.verify.changed import affected, changed_alerts_since, changed_files

    files = changed_files(root, base)
    reasons = affected(runbooks, files, changed_alerts_since(root, base, files), Sandbox(root).compose_spec(), root)
    broken = [b for b in unreadable if any(f.endswith(f"{b.runbook_id}.md") for f in files)]
    console.print(f"--changed {escape(base)}: {len(files)} files changed, {len(reasons) + len(broken)} of "
                  f"{len(runbooks) + len(unreadable)} runbooks affected")
    for rid, why in reasons.items():
        console.print(f"  {escape(rid)}: {escape('; '.join(why))}")
    return [r for r in runbooks if r.id in reasons], broken


def _append(path: Path, text: str) -> None:
    """Append to FILE (GitHub's step summary is one file that every step appends to)."""
    try:
        with path.open("a", encoding="utf-8") as out:
            out.write(text + "\n")
    except OSError as exc:
        raise click.FileError(str(path), hint=exc.strerror) from exc


def _plan(root: Path, paths: tuple[Path, ...], count: int, durations: Path | None, github_output: Path | None,
          console: Console) -> int:
    """The split --shard I/N would make for every I, with each shard's predicted seconds."""
    from opsbook.verify.shard import assign, recorded_durations, weights
    from opsbook.verify.status import load_status_document
    from opsbook.verify.suite import VerifyRequest, select

    request = VerifyRequest(root=root, paths=paths, durations=durations)
    runbooks, unreadable, _ = select(request)
    ids = [r.id for r in runbooks] + [b.runbook_id for b in unreadable]
    recorded = recorded_durations(load_status_document(request.durations_path))
    expected = weights(ids, recorded)
    shard_of = assign(ids, count, recorded)
    table = Table(title=f"{len(ids)} runbooks in {count} shards (durations: "
                        f"{escape(display_path(request.durations_path, root)) if recorded else 'none recorded'})")
    for column in ("shard", "runbooks", "predicted", "ids"):
        table.add_column(column, overflow="fold")
    loads = []
    for index in range(1, count + 1):
        mine = sorted(rid for rid, s in shard_of.items() if s == index)
        loads.append(sum(expected[rid] for rid in mine))
        table.add_row(f"{index}/{count}", str(len(mine)), format_duration(loads[-1]), escape(", ".join(mine)))
    console.print(table)
    total = sum(loads)
    if total:
        console.print(f"slowest shard {format_duration(max(loads))}, {max(loads) / (total / count):.2f} x total/N "
                      f"(total {format_duration(total)}; unrecorded runbooks count as the median)")
    if github_output is not None:
        _append(github_output, f"matrix={json.dumps({'shard': list(range(1, count + 1))})}\ncount={count}")
    return 0


def _merge(files: tuple[Path, ...], target: Path, console: Console, summary_file: Path | None) -> int:
    """Merge the shards' status files into `target`; 1 when a shard is missing, did not finish,
    or a runbook failed (each problem named), else 0."""
    from opsbook.verify.status import merge_problems, merge_status, write_status
    from opsbook.verify.summary import markdown_summary

    documents = []
    files = tuple(p / "status.json" if p.is_dir() else p for p in files)
    for path in files:
        try:
            documents.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: not a readable status.json ({exc})") from exc
    try:
        merged = merge_status(documents)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    write_status(target, merged)
    problems = merge_problems(documents)
    console.print(f"merged {len(files)} status files, {len(merged['runbooks'])} runbooks into {target}")
    for problem in problems:
        console.print(f"[red]✗ {escape(problem)}[/]")
    if summary_file is not None:
        _append(summary_file, markdown_summary(merged["runbooks"], "opsbook verify, all shards"))
    return 1 if problems else 0
