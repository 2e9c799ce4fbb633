"""The `opsbook` command group and its small commands; `entry()` maps every error to an exit status.

Exit status: 0 all passed · 1 a step failed or timed out · 2 usage or format error ·
130 interrupted. `sandbox` and `verify` live in their own modules, imported when used.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
from rich import box
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from opsbook import __version__
from opsbook.cli.console import console, content, errors
from opsbook.errors import FormatProblem, OpsbookError, RunbookFormatError, SandboxError, UsageError
from opsbook.run.events import RunStatus
from opsbook.text import printable

if TYPE_CHECKING:
    from opsbook.run.targets import Target
    from opsbook.runbook.discover import Catalogue
    from opsbook.runbook.model import Runbook

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_FOR_RUN = {RunStatus.PASSED: EXIT_OK, RunStatus.FAILED: EXIT_FAILED, RunStatus.INTERRUPTED: EXIT_INTERRUPTED}



def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    errors.print(Text.assemble(("error:", "error"), " ", printable(message)), soft_wrap=True)
    sys.exit(code)


def root_dir() -> Path:
    from opsbook.runbook.discover import project_root

    return project_root()


class _Commands(click.Group):
    """The `opsbook` group; `sandbox`, `verify`, `alerts` ... are imported only when used (fast start)."""

    lazy = {"sandbox": ("opsbook.cli.sandbox", "sandbox"), "verify": ("opsbook.cli.verify", "verify"),
            "alerts": ("opsbook.cli.alerts", "alerts"),
            "import": ("opsbook.cli.authoring", "import_runbooks"), "new": ("opsbook.cli.authoring", "new_runbook"),
            "drill": ("opsbook.cli.drill", "drill"), "postmortem": ("opsbook.cli.postmortem", "postmortem")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attribute = self.lazy[cmd_name]
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="opsbook")
def main() -> None:
    """Executable runbooks: read them, step through them, verify them.

    \b
    A runbook is a Markdown file (jupytext) whose ```bash fences are steps.
    Start with:
      opsbook list                          what runbooks there are
      opsbook search WorkerQueueBackedUp    find the one for an alert
      opsbook show incidents/worker-queue-backed-up
      opsbook run incidents/worker-queue-backed-up          step by step, on the sandbox
      opsbook run deployment/deploy --target staging --param VERSION=1.1.0
      opsbook alerts                        what is firing, and the runbook of each alert
      opsbook drill --random                practise: break the sandbox, time the response
    """


# --- run ----------------------------------------------------------------------------------


def _parse_params(values: tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        params[key] = value
    return params


@main.command()
@click.argument("runbook", required=False)
@click.option("--alert", metavar="NAME",
              help="Instead of RUNBOOK: the runbook answering the firing alert NAME, params filled from its labels.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE",
              help="With --alert: which of several alerts named NAME (repeatable).")
@click.option("--target", "-t", default="sandbox", show_default=True, help="Where the steps run (see opsbook.toml).")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE", help="Set a runbook parameter, or a variable a step needs= (repeatable).")
@click.option("--yes", "-y", is_flag=True, help="Run every step without asking (destructive steps outside the sandbox still ask).")
@click.option("--step", "only_step", metavar="NAME", help="Run only this step.")
@click.option("--from", "from_step", metavar="NAME", help="Start at this step.")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, path_type=Path), metavar="RECORD_DIR",
              help="Continue a stopped or failed run at its first step that did not pass, with its shell state.")
@click.option("--state-from", "state_from", type=click.Path(file_okay=False, path_type=Path), metavar="RECORD_DIR",
              help="Start with the shell variables an earlier run left (its record directory), e.g. with --from.")
@click.option("--record-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Where to write the record (default .opsbook/runs/<UTC time>-<runbook>).")
@click.option("--project", metavar="NAME", help="Sandbox compose project (two sandboxes side by side).")
@click.option("--output-cap", type=int, metavar="BYTES",
              help="Cap on each of a step's stdout and stderr (default 1 MB each).")
@click.option("--break-lock", is_flag=True,
              help="Run although another run of this runbook holds the target (said in the transcript).")
@click.option("--confirm-target", "confirm_target", metavar="NAME",
              help="Without a terminal (a CI job): NAME, the target's own name, counts as typed at the start "
                   "and before each destructive step (said in the record).")
@click.option("--summary", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="At the end, append a Markdown summary (the steps, and the transcript) to FILE: "
                   "$GITHUB_STEP_SUMMARY in GitHub Actions.")
def run(runbook: str | None, alert: str | None, labels: tuple[str, ...], target: str, params: tuple[str, ...],
        yes: bool, only_step: str | None, from_step: str | None, resume_dir: Path | None, state_from: Path | None,
        record_dir: Path | None, project: str | None, output_cap: int | None, break_lock: bool,
        confirm_target: str | None, summary: Path | None) -> None:
    """Step through RUNBOOK (an id like incidents/db-down, or a path), or the runbook of a firing alert.

    Each step shows its prose and command, then asks: run, skip or quit. Output streams
    live; Ctrl-C interrupts the running step (then retry, skip or quit); a second Ctrl-C
    quits. Every run writes a record (transcript.md, events.jsonl, executed.ipynb), updated
    after every step.

    \b
    Examples:
      opsbook run incidents/worker-queue-backed-up
      opsbook run deployment/deploy --yes --param VERSION=1.1.0
      opsbook run deployment/deploy --step health-check
      opsbook run deployment/deploy --resume .opsbook/runs/20261126T031500Z-deployment-deploy
      opsbook run deployment/deploy --from rollback-if-unhealthy --param PREVIOUS_VERSION=1.0.0
      opsbook run deployment/deploy --from rollback-if-unhealthy \\
          --state-from .opsbook/runs/20261126T031500Z-deployment-deploy
      opsbook run database/backup-restore --target staging --param PGPASSWORD=...
      opsbook run --alert WorkerQueueBackedUp
      opsbook run --alert ScrapeTargetDown --label instance=redis-exporter:9121 --target staging

    \b
    --alert NAME finds NAME among the alerts firing on the target's Alertmanager and starts
    the runbook whose header lists it under alerts:, each param named like a label of the
    alert (ignoring case) filled from it; --param wins over a label. Several alerts named
    NAME: the most severe, oldest one, or the one --label picks. NAME not firing: asks
    whether to start the runbook anyway (without a terminal, only with --yes).

    Starting in the middle (--from, --step, --resume), every step that will run must find the
    variables its needs=[...] names, set by an earlier step (e.g. PREVIOUS_VERSION): from
    --param NAME=VALUE, a runbook param, the target, --state-from RECORD_DIR (the variables
    an earlier run of these steps left, as its record keeps them; secret values are never kept
    and must be given with --param) or a step that runs before it. Otherwise nothing runs, and
    the error names each missing variable, the step that needs it and the steps that set it.

    Outside the sandbox, one run of a runbook holds its target: a second one is refused,
    naming who holds it, unless given --break-lock.

    A target with confirm = true asks for its name to be typed before the first step and
    before each destructive one. A pipeline has no one to type it: --confirm-target NAME gives
    it (it must be the target's name, or nothing runs), and the record says it was given so.

    Exit status: 0 all passed, 1 a step failed or timed out, 2 usage or format error,
    130 interrupted.
    """
    from opsbook.cli.live import LiveView, TerminalPrompt, has_terminal
    from opsbook.run.lock import TargetLock, current_holder, lock_dir
    from opsbook.run.runner import operator_name
    from opsbook.text import utc_now
    from opsbook.record.writer import EVENTS_FILE, RecordWriter, default_record_dir, load_record
    from opsbook.run.runner import PriorState, RunOptions, check_run, recorded_state, run_runbook
    from opsbook.run.targets import load_target
    from opsbook.runbook.discover import resolve_runbook

    root = root_dir()
    given = _parse_params(params)
    alert_notes: tuple[str, ...] = ()
    if alert is None:
        if runbook is None:
            raise click.UsageError("give a RUNBOOK, or --alert NAME to start the runbook of a firing alert")
        if labels:
            raise click.UsageError("--label picks one of the alerts named by --alert: give --alert NAME too")
        book = resolve_runbook(runbook, root)
    else:
        if runbook is not None:
            raise click.UsageError(f"give RUNBOOK or --alert, not both: --alert {alert} finds its runbook itself")
        if resume_dir is not None:
            raise click.UsageError("--resume continues the record of a runbook: opsbook run RUNBOOK --resume DIR")
        from opsbook.cli.alerts import runbook_for_alert

        picked = runbook_for_alert(root, alert, labels, target=target, project=project, given=given, yes=yes,
                                   interactive=has_terminal())
        book, given, alert_notes = picked.runbook, picked.params, picked.notes
    previous = None
    if resume_dir is not None:
        if record_dir is not None and record_dir != resume_dir:
            raise UsageError("--resume continues the record it names; leave out --record-dir")
        if not (resume_dir / EVENTS_FILE).is_file():
            raise UsageError(f"{resume_dir} holds no run record ({EVENTS_FILE}); give the directory a run wrote")
        previous = tuple(load_record(resume_dir))
        record_dir = resume_dir
    prior = None
    if state_from is not None:
        if resume_dir is not None:
            raise UsageError("--resume continues with the state of the record it names; leave out --state-from")
        if not (state_from / EVENTS_FILE).is_file():
            raise UsageError(f"--state-from {state_from}: no run record there ({EVENTS_FILE}); give the "
                             "directory an earlier `opsbook run` printed as its record")
        variables = recorded_state(load_record(state_from))
        if variables is None:
            raise UsageError(f"--state-from {state_from}: no step of that run left its variables in the record "
                             "(none ran, or it was written by an opsbook that did not keep them)")
        prior = PriorState(source=str(state_from), variables=variables)
    record_dir = record_dir or default_record_dir(root, book.id, datetime.now(timezone.utc))
    try:
        tgt = load_target(target, root, project)
    except SandboxError as exc:
        raise UsageError(f"{exc}") from exc
    if tgt.warning:
        errors.print(Text.assemble(("warning:", "warning"), " ", printable(tgt.warning)), soft_wrap=True)
    if confirm_target is not None and confirm_target != tgt.name:
        raise UsageError(f"--confirm-target {confirm_target!r} is not the target's name ({tgt.name}): nothing ran")
    interactive = has_terminal()
    view = LiveView(book, console, show_prose=interactive and not yes)
    prompt = TerminalPrompt(view, console) if interactive else None
    if not interactive and not yes:
        raise UsageError("no terminal to ask on: add --yes to run every step without asking")
    _warn_refused_secrets(book, tgt, given)
    # Refuse what cannot start (e.g. a needed variable nothing gives) before taking a lock or writing a record.
    check_run(book, RunOptions(target=tgt, params=given, only_step=only_step, from_step=from_step,
                               record_dir=record_dir, previous=previous, state_from=prior, cwd=root))
    holder = current_holder(operator_name(), utc_now(), record_dir, book.id, tgt.name)
    with contextlib.ExitStack() as held:
        notes = alert_notes
        if confirm_target is not None and tgt.confirm and not tgt.sandbox:
            notes = (*notes, f"target {tgt.name} confirmed with --confirm-target, not typed at a terminal")
        if not tgt.sandbox:
            lock = held.enter_context(TargetLock(lock_dir(root), holder, break_lock=break_lock))
            if lock.broken is not None:
                notes = (*notes, f"--break-lock: ran while {lock.broken.describe()} held {tgt.name}")
                errors.print(Text.assemble(("warning:", "warning"), " ", printable(notes[-1])), soft_wrap=True)
        options = RunOptions(target=tgt, params=given, assume_yes=yes, only_step=only_step,
                             from_step=from_step, record_dir=record_dir, previous=previous, output_cap=output_cap,
                             notes=notes, state_from=prior, confirmed_target=confirm_target)
        with RecordWriter(record_dir, book) as record:
            result = run_runbook(book, options, [record, view], prompt)
    if summary is not None:
        from opsbook.record.summary import append_summary, run_summary
        from opsbook.record.writer import TRANSCRIPT_FILE

        transcript = (record_dir / TRANSCRIPT_FILE).read_text(encoding="utf-8")
        append_summary(summary, run_summary(result, transcript, record_dir))
    console.print(f"Record: [bold]{record_dir}[/bold] (transcript.md, events.jsonl, executed.ipynb)")
    if result.status is not RunStatus.PASSED and not options.resume:
        console.print(f"Resume with: opsbook run {book.id} --resume {record_dir}")
    sys.exit(EXIT_FOR_RUN[result.status])


def _warn_refused_secrets(book: Runbook, target: Target, params: dict[str, str]) -> None:
    """Secrets under 4 characters are not masked (they would mask everything): say so."""
    from opsbook.run.redact import Masker, refusal_message
    from opsbook.run.runner import secret_values

    given = {p.name: params.get(p.name, p.default or "") for p in book.params}
    for name in Masker(secret_values(book, target, given)).refused:
        errors.print(Text.assemble(("warning:", "warning"), " ", refusal_message(name)))


# --- lint, list, show, search -------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--strict", is_flag=True, help="Warnings fail too (exit status 1).")
def lint(paths: tuple[Path, ...], strict: bool) -> None:
    """Check runbook files for format errors (all of them, with file and line), and warn about
    what parses but will not run as meant.

    PATHS are files or directories (default: the runbooks folder). Problems are printed as
    path:line: message, each with a hint. Warnings (commands in ```shell prose fences, `$ `
    prompts pasted into a step, comment-only steps, no steps at all, links to missing files,
    a step using a variable only an earlier step sets without needs=[...]) are printed as
    path:line: warning: message. Exit status 2 if any file has errors, 1 with --strict if
    there are warnings, else 0.

    \b
    Examples:
      opsbook lint
      opsbook lint --strict runbooks/incidents/db-down.md
    """
    from opsbook.runbook.discover import excluded_names, load_runbook, runbook_files, runbooks_dir
    from opsbook.runbook.lint import lint_warnings

    root = root_dir()
    warnings: list[FormatProblem] = []
    files = runbook_files(list(paths) or [runbooks_dir(root)], excluded_names(root), warnings)
    if not files:
        raise UsageError("no runbook files found")
    bad = 0
    for path in files:
        try:
            book = load_runbook(path)
        except RunbookFormatError as exc:
            bad += 1
            for problem in exc.problems:
                errors.print(content(str(problem)), soft_wrap=True)
            continue
        warnings.extend(lint_warnings(path.read_text(encoding="utf-8-sig"), book))
    for problem in warnings:
        errors.print(content(problem.as_warning()), soft_wrap=True)
    summary = f"{len(files)} file(s) checked, {bad} with problems, {len(warnings)} warning(s)"
    if bad:
        errors.print(summary, style="error")
        sys.exit(EXIT_USAGE)
    if warnings and strict:
        errors.print(summary, style="warning")
        sys.exit(EXIT_FAILED)
    console.print(summary, style="warning" if warnings else "good")


def _catalogue() -> Catalogue:
    """Every runbook that reads; the problems of the others are reported after the command's output."""
    from opsbook.runbook.discover import excluded_names, find_runbooks, runbooks_dir

    root = root_dir()
    folder = runbooks_dir(root)
    if not folder.is_dir():
        raise UsageError(f"no runbooks folder at {folder} (set OPSBOOK_ROOT or cd into the project)")
    return find_runbooks(folder, excluded_names(root))


def _report_unreadable(catalogue: Catalogue) -> None:
    """After listing what could be read: the files that could not, and a non-zero exit status."""
    if not catalogue.problems:
        return
    for problem in catalogue.problems:
        errors.print(content(str(problem)), soft_wrap=True)
    files = len({p.path for p in catalogue.problems})
    fail(f"{files} runbook file(s) could not be read and are not listed (see above; `opsbook lint` checks them)",
         EXIT_USAGE)


@main.command(name="list")
@click.option("--tag", help="Only runbooks with this tag.")
@click.option("--service", help="Only runbooks for this service.")
@click.option("--alert", help="Only runbooks answering this alert.")
def list_runbooks(tag: str | None, service: str | None, alert: str | None) -> None:
    """List runbooks: id, title, severity, alerts, services, steps.

    \b
    Examples:
      opsbook list
      opsbook list --alert WorkerQueueBackedUp
      opsbook list --service postgres
    """
    from opsbook.runbook.catalog import filter_runbooks

    catalogue = _catalogue()
    runbooks = sorted(filter_runbooks(catalogue.runbooks, tag=tag, service=service, alert=alert),
                      key=lambda rb: (rb.severity, rb.id))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)  # what people copy into `opsbook run`: never broken
    table.add_column("sev", no_wrap=True)
    table.add_column("steps", no_wrap=True, justify="right")
    table.add_column("title", ratio=3)
    table.add_column("alerts", ratio=2, overflow="fold")
    table.add_column("services", ratio=2)
    for rb in runbooks:
        table.add_row(content(rb.id), rb.severity, str(len(rb.steps)), content(rb.title), content(", ".join(rb.alerts)),
                      content(", ".join(rb.services)))
    console.print(table)
    if not runbooks:
        console.print("no runbook matches", style="warning")
    _report_unreadable(catalogue)


@main.command()
@click.argument("runbook")
def show(runbook: str) -> None:
    """Print RUNBOOK readably in the terminal (for when the site is down).

    \b
    Example:
      opsbook show incidents/worker-queue-backed-up
    """
    from opsbook.cli.console import StepHeader
    from opsbook.runbook.discover import resolve_runbook
    from opsbook.runbook.model import Step

    book = resolve_runbook(runbook, root_dir())
    console.print(content(book.title, "runbook.title"))
    meta = [f"id {book.id}", book.severity]
    if book.owner:
        meta.append(f"owner {book.owner}")
    if book.services:
        meta.append("services " + ", ".join(book.services))
    if book.alerts:
        meta.append("alerts " + ", ".join(book.alerts))
    console.print(content(" · ".join(meta), "meta"))
    if book.summary:
        console.print(content(book.summary))
    for p in book.params:
        line = Text("  param ").append_text(content(p.name, "bold"))
        line.append(f" (default {printable(p.default)})" if p.default is not None else " (required)")
        line.append(" [secret]" if p.secret else "")
        line.append(f": {printable(p.help)}" if p.help else "")
        console.print(line)
    total = len(book.steps)
    for cell in book.cells:
        if isinstance(cell, Step):
            header = StepHeader(cell, total, book.step_timeout(cell))
            console.print(header)
            console.print(header.command())
        else:
            console.print(Markdown(printable(cell.text)))
    console.print(Text("\nStep through it: ").append_text(content(f"opsbook run {book.id}", "bold")))


@main.command()
@click.argument("query", nargs=-1, required=True)
def search(query: tuple[str, ...]) -> None:
    """Full-text search over runbooks: titles, alerts, prose, step names and commands.

    \b
    Examples:
      opsbook search WorkerQueueBackedUp
      opsbook search pg_dump
      opsbook search rollback health
    """
    from opsbook.runbook.catalog import search as search_runbooks

    catalogue = _catalogue()
    hits = search_runbooks(catalogue.runbooks, " ".join(query))
    if not hits:
        console.print(content(f"no runbook mentions {' '.join(query)!r}", "warning"))
        _report_unreadable(catalogue)
        sys.exit(EXIT_FAILED)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("title", ratio=2)
    table.add_column("sev", no_wrap=True)
    table.add_column("matched in", ratio=2)
    table.add_column("context", ratio=3, overflow="fold")
    for hit in hits:
        table.add_row(content(hit.runbook.id), content(hit.runbook.title), hit.runbook.severity, content(hit.where),
                      content(hit.context))
    console.print(table)
    _report_unreadable(catalogue)


@main.group()
def kernel() -> None:
    """The opsbook shell kernel (kernelspec opsbook-bash) for Jupyter."""


@kernel.command(name="install")
def kernel_install() -> None:
    """Register the opsbook-bash kernelspec in this environment (done automatically on first run).

    \b
    Example:
      opsbook kernel install && jupyter lab runbooks/
    """
    from opsbook.kernel.install import ensure_kernelspec

    console.print(f"kernelspec opsbook-bash installed in {ensure_kernelspec()}")


def entry() -> None:
    """Console script: run the CLI and map errors to exit codes."""
    try:
        main.main(standalone_mode=False)
    except click.exceptions.Abort:
        errors.print("aborted")
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # `opsbook show ... | head`: the reader has what it wanted. Point stdout at /dev/null so
        # that flushing it at exit does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_OK)
    except RunbookFormatError as exc:
        for problem in exc.problems:
            errors.print(content(str(problem)), soft_wrap=True)
        sys.exit(EXIT_USAGE)
    except UsageError as exc:
        fail(str(exc), EXIT_USAGE)
    except OpsbookError as exc:
        fail(str(exc), EXIT_FAILED)
    sys.exit(EXIT_OK)
