"""`opsbook import` and `opsbook new`: bring runbooks in, or start one; the work is in opsbook.authoring."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.text import Text

from opsbook.cli.console import content
from opsbook.cli.main import EXIT_FAILED, EXIT_OK, console, root_dir
from opsbook.errors import UsageError
from opsbook.text import display_path, printable

if TYPE_CHECKING:
    from opsbook.authoring.importer import ImportedFile


def _safe(text: object) -> str:
    """Text from an input file (a name, a title, a command) on one line, with no escape sequence
    or control character a terminal would act on."""
    return printable(str(text)).replace("\n", " ").replace("\t", " ")


def _shown(path: Path | None) -> str:
    return _safe(display_path(path, Path.cwd())) if path is not None else ""


@click.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--into", type=click.Path(file_okay=False, path_type=Path), metavar="FOLDER",
              help="Folder to write the runbooks to (default runbooks/imported).")
@click.option("--dry-run", is_flag=True, help="Convert and report, but write nothing.")
@click.option("--force", is_flag=True, help="Replace runbooks that already exist at the targets.")
def import_runbooks(paths: tuple[Path, ...], into: Path | None, dry_run: bool, force: bool) -> None:
    """Convert existing Markdown runbooks (PATHS: files or folders) into opsbook runbooks.

    Shell blocks (```shell, ```sh, ```bash, ```console with `$ ` prompts) become named steps;
    pasted output becomes a ```text block after its step; <placeholders> become parameters;
    Diagnosis and Mitigation sections give steps their roles, and anything that looks like it
    changes the system is a destructive remediate step. Hugo _index.md pages are dropped.
    Links between the converted files are rewritten. The report lists, per file, what needs a
    person: interactive commands, parameters, blocks kept as text, links not rewritten.

    \b
    Examples:
      opsbook import ~/src/runbooks/content/runbooks --into runbooks/kubernetes --dry-run
      opsbook import old/KubePodCrashLooping.md --into runbooks/incidents

    Exit status: 0 all converted, 1 some need a person (they are still written), 2 usage error
    (an input cannot be read, nothing to import).
    """
    from opsbook.runbook.discover import runbooks_dir
    from opsbook.authoring.importer import plan_import, write_import

    plan = plan_import(list(paths), into if into is not None else runbooks_dir(root_dir()) / "imported", force=force)
    if not dry_run:
        write_import(plan)
    for item in plan.files:
        for line in _report(item, dry_run):
            console.print(line, soft_wrap=True)
    written = len(plan.to_write)
    needing = sum(1 for f in plan.files if f.needs_human)
    into_shown = _shown(plan.into)
    summary = (f"{written} runbook(s) {'would be written' if dry_run else 'written'} to {into_shown}; "
               f"{needing} file(s) need a person")
    console.print(content(summary + (" (dry run: nothing written)" if dry_run else ""),
                          style="warning" if needing else "good"))
    if written and not dry_run:
        console.print(content(f"Next: fix what the report lists (grep -rn 'TODO(opsbook import)' {into_shown}), "
                              f"then opsbook lint {into_shown} and opsbook verify {into_shown}"))
    sys.exit(EXIT_FAILED if needing else EXIT_OK)


def _report(item: ImportedFile, dry_run: bool) -> list[Text]:
    """The report lines of one input file: what became of it, then what needs a person, line by line."""
    from opsbook.authoring.importer import Outcome

    source, target = _shown(item.source), _shown(item.target)
    if item.outcome is Outcome.INDEX:
        return [Text.assemble(("dropped      ", "meta"), f"{source} (an index page: no runbook in it)")]
    if item.outcome is Outcome.ALREADY:
        return [Text.assemble(("left alone   ", "meta"), f"{source} (already an opsbook runbook)")]
    if item.outcome is Outcome.EXISTS:
        return [Text.assemble(("not written  ", "warning"), f"{source} → {target} exists (--force replaces it)")]
    if item.outcome is Outcome.INVALID:
        return [Text.assemble(("not written  ", "error"), f"{source} → {target}: the converted text does not "
                              "pass lint (an importer bug: please report it)"),
                *(Text(f"    {_safe(problem)}") for problem in item.problems)]
    conversion = item.conversion
    assert conversion is not None
    facts = f"{len(conversion.steps)} step(s)" + (f", {len(conversion.params)} param(s)" if conversion.params else "")
    label = ("needs a person ", "warning") if item.needs_human else ("converted    ", "good")
    lines = [Text.assemble(label, f"{source} → {target} ({'dry run' if dry_run else 'written'}; {facts})")]
    lines += [Text(f"    {target}:{note.line}: {note.kind.value}: {_safe(note.message)}") for note in conversion.notes]
    return lines


@click.command(name="new")
@click.argument("runbook_id", metavar="AREA/NAME")
@click.option("--alert", "alerts", multiple=True, metavar="NAME", help="Prometheus alert it answers (repeatable).")
@click.option("--title", metavar="TEXT", help="Its title (default: NAME in words).")
def new_runbook(runbook_id: str, alerts: tuple[str, ...], title: str | None) -> None:
    """Write runbooks/AREA/NAME.md, a skeleton in the house style to fill in.

    The skeleton has a header, the "You are here because" opening, a diagnose, a remediate
    and a verify step, what good output looks like and what to do if each step fails, and
    what to post in the incident channel. Its steps fail until you write them, so an unfinished
    runbook never passes verification. It never overwrites a file.

    \b
    Examples:
      opsbook new incidents/disk-full --alert NodeFilesystemAlmostOutOfSpace
      opsbook new database/vacuum --title "Vacuum a bloated table"
    """
    from opsbook.runbook.discover import runbooks_dir
    from opsbook.runbook.parse import parse_runbook
    from opsbook.authoring.skeleton import check_alert_name, check_runbook_id, default_title, skeleton_text
    from opsbook.text import write_atomically

    check_runbook_id(runbook_id)
    for alert in alerts:
        check_alert_name(alert)
    if title is not None:
        title = " ".join(printable(title).split())  # one line: it is also the page's `# Title`
        if not title:
            raise UsageError("--title is empty: give the title an on-call engineer will search for")
    path = runbooks_dir(root_dir()) / f"{runbook_id}.md"
    if path.exists():
        raise UsageError(f"{display_path(path, Path.cwd())} already exists; opsbook new never overwrites a runbook")
    text = skeleton_text(runbook_id, title or default_title(runbook_id), alerts)
    parse_runbook(text, path, runbook_id)  # a skeleton that does not lint is a bug: refuse to write it
    write_atomically(path, text)
    shown = display_path(path, Path.cwd())
    console.print(Text.assemble(("wrote ", "good"), _safe(shown)))
    console.print(content(f"Next: fill in every TODO (grep -n TODO {shown}), then opsbook lint {shown} "
                          f"and opsbook run {runbook_id}"))
