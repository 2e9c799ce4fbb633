"""`opsbook alerts` (what is firing now, with the runbook that answers each alert) and the part of
`opsbook run --alert NAME` that picks the alert, its runbook and the params its labels fill in.

Every label and annotation comes from Alertmanager, that is from whoever wrote a rule or posted an
alert, so each is printed through `content()`: never rich markup, never an escape sequence. The
work (reading Alertmanager, ordering, matching labels to params) is in `opsbook.run.alerts`.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.text import Text

from opsbook.cli.console import content
from opsbook.errors import OpsbookError, SandboxError, UsageError
from opsbook.run.targets import SANDBOX, load_target
from opsbook.text import format_duration, format_time

if TYPE_CHECKING:
    from opsbook.run.alerts import AlertmanagerUnreachable, FiringAlert
    from opsbook.runbook.discover import Catalogue
    from opsbook.runbook.model import Runbook

SEVERITY_STYLE = {"critical": "error", "major": "warning", "warning": ""}


# --- where the alerts come from ----------------------------------------------------------------


@dataclass(frozen=True)
class AlertSource:
    """A target's Alertmanager, and how to name the target on a command line."""

    target: str
    url: str
    project: str | None = None  # the sandbox's compose project, when it is not the default one

    @property
    def scope(self) -> str:
        if self.target != SANDBOX:
            return f"target {self.target}"
        return f"sandbox {self.project}" if self.project else "sandbox"

    def options(self) -> list[str]:
        """What `opsbook run` needs to reach the same target."""
        if self.target != SANDBOX:
            return ["--target", self.target]
        return ["--project", self.project] if self.project else []

    def unreachable(self, reason: AlertmanagerUnreachable) -> OpsbookError:
        """The error for an Alertmanager that does not answer: for the sandbox, how to start it."""
        from opsbook.run.alerts import shown_url

        if self.target == SANDBOX:
            return SandboxError(f"{self.scope} is not running: {reason}; start it with "
                                f"`opsbook sandbox up{' --project ' + self.project if self.project else ''}`")
        return OpsbookError(f"cannot read the alerts of {self.scope}: {reason} "
                            f"(ALERTMANAGER_URL {shown_url(self.url)} in the target's environment)")


def alert_source(root: Path, target: str, project: str | None) -> AlertSource:
    """ALERTMANAGER_URL of the target's environment. For the sandbox it comes from its env file
    (not from `Sandbox.env()`, which detects compose: a second gone at 3 a.m.)."""
    if target == SANDBOX:
        from opsbook.sandbox import Sandbox
        from opsbook.sandbox.settings import DEFAULT_PROJECT, target_env

        box = Sandbox(root, project)
        named = None if box.project == DEFAULT_PROJECT else box.project
        if not box.env_file.exists():
            raise SandboxError(f"sandbox {box.project} is not set up ({box.env_file} does not exist): start it with "
                               f"`opsbook sandbox up{' --project ' + named if named else ''}`")
        env = target_env(box.settings(), compose_file=box.compose_file, compose_command="", sandbox_dir=box.dir)
        return AlertSource(SANDBOX, env["ALERTMANAGER_URL"], named)
    url = load_target(target, root).env.get("ALERTMANAGER_URL", "")
    if not url:
        raise UsageError(f"target {target} has no ALERTMANAGER_URL: set it under [targets.{target}.env] in "
                         "opsbook.toml, or in the target's env_file")
    return AlertSource(target, url)


def read_source(source: AlertSource) -> list[FiringAlert]:
    from opsbook.run.alerts import AlertmanagerUnreachable, read_alerts

    try:
        return read_alerts(source.url)
    except AlertmanagerUnreachable as exc:
        raise source.unreachable(exc) from exc


def parse_labels(values: Sequence[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--label")
        labels[key] = value
    return labels


def load_catalogue(root: Path) -> Catalogue:
    """The project's runbooks; none (not an error) when it has no runbooks folder: the alerts still show."""
    from opsbook.runbook.discover import Catalogue, excluded_names, find_runbooks, runbooks_dir

    folder = runbooks_dir(root)
    return find_runbooks(folder, excluded_names(root)) if folder.is_dir() else Catalogue()


def warn_unreadable(errors: Console, catalogue: Catalogue) -> None:
    """An unreadable runbook may be the one that answers an alert: say so, after the answer."""
    if catalogue.problems:
        files = len({p.path for p in catalogue.problems})
        errors.print(Text.assemble(("warning:", "warning"), " ", content(
            f"{files} runbook file(s) could not be read, so an alert shown with no runbook may have one "
            "(`opsbook lint` shows the problems)")), soft_wrap=True)


# --- two lines per alert -------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertLine:
    """An alert with what the person on call does about it: its runbooks and the command to start."""

    alert: FiringAlert
    runbooks: tuple[str, ...]  # ids of the runbooks answering it (one, normally)
    commands: tuple[str, ...]  # the exact command(s) to start it; none without a runbook
    inhibited_by: tuple[str, ...]  # names of the alerts inhibiting it (fingerprints Alertmanager no longer holds)

    @property
    def state(self) -> str:
        alert = self.alert
        if not alert.suppressed:
            return "active"
        why = []
        if alert.silenced_by:  # the first 8 characters of a silence id, as amtool shows them
            why.append("silenced " + ", ".join(s[:8] for s in alert.silenced_by))
        if self.inhibited_by:
            why.append("inhibited by " + ", ".join(dict.fromkeys(self.inhibited_by)))
        return "; ".join(why) or "suppressed"

    def as_json(self, now: datetime) -> dict[str, Any]:
        alert = self.alert
        seconds = alert.firing_seconds(now)
        return {"alertname": alert.name, "severity": alert.severity, "state": alert.state,
                "suppressed": alert.suppressed, "silenced_by": list(alert.silenced_by),
                "inhibited_by": list(alert.inhibited_by), "inhibited_by_alerts": list(self.inhibited_by),
                "starts_at": alert.starts_at.isoformat().replace("+00:00", "Z") if alert.starts_at else None,
                "firing_seconds": None if seconds is None else round(seconds),
                "labels": dict(alert.labels), "annotations": dict(alert.annotations),
                "fingerprint": alert.fingerprint, "generator_url": alert.generator_url,
                "runbook": self.runbooks[0] if len(self.runbooks) == 1 else None, "runbooks": list(self.runbooks),
                "runbook_url": alert.runbook_url or None,
                "command": self.commands[0] if len(self.commands) == 1 else None}


def run_command(alert: FiringAlert, group: Sequence[FiringAlert], source: AlertSource) -> str:
    """`opsbook run --alert NAME` and what picks this alert out of the others of its name, shell-quoted."""
    from opsbook.run.alerts import distinguishing_labels

    argv = ["opsbook", "run", "--alert", alert.name]
    for key, value in distinguishing_labels(alert, group):
        argv += ["--label", f"{key}={value}"]
    return shlex.join([*argv, *source.options()])


def alert_lines(alerts: Sequence[FiringAlert], runbooks: Sequence[Runbook], source: AlertSource, *,
                everything: Sequence[FiringAlert] | None = None) -> list[AlertLine]:
    """Each alert in on-call order, with its runbooks and the command that starts the one that answers it.
    `everything` is all that fires when `alerts` is a selection: `run --alert` chooses among all of them."""
    from opsbook.run.alerts import named, on_call_order, primary_runbook, runbooks_answering

    every = list(everything if everything is not None else alerts)
    by_fingerprint = {a.fingerprint: a.name for a in every if a.fingerprint}
    lines = []
    for alert in on_call_order(alerts):
        books = runbooks_answering(runbooks, alert.name)
        primary = primary_runbook(books, alert.runbook_url)
        # The one `run --alert` starts first (the rule's runbook_url names it among several), then the others.
        answering = [rb.id for rb in books if rb is primary] + [rb.id for rb in books if rb is not primary]
        commands: tuple[str, ...]
        if primary is not None:
            commands = (run_command(alert, named(every, alert.name), source),
                        *(shlex.join(["opsbook", "run", rid, *source.options()]) for rid in answering[1:]))
        else:  # several and the rule names none: `run --alert` refuses to choose, so each by id
            commands = tuple(shlex.join(["opsbook", "run", rid, *source.options()]) for rid in answering)
        inhibitors = tuple(by_fingerprint.get(f, f) for f in alert.inhibited_by)
        lines.append(AlertLine(alert, tuple(answering), commands, inhibitors))
    return lines


def _answer(line: AlertLine) -> list[Text]:
    """The second line of an alert (more when several runbooks answer it): what to do about it."""
    if len(line.runbooks) == 1 or (line.runbooks and line.commands[0].startswith("opsbook run --alert")):
        first = [Text.assemble(content(line.runbooks[0], "runbook.id"), "  ", content(line.commands[0], "bold"))]
        return first + [Text.assemble(content("also answered by ", "dim"), content(rid, "runbook.id"), "  ",
                                      content(command, "dim"))
                        for rid, command in zip(line.runbooks[1:], line.commands[1:])]
    if line.runbooks:
        return [content(f"{len(line.runbooks)} runbooks answer it; start one by id:", "warning"),
                *(Text.assemble(content(rid, "runbook.id"), "  ", content(command, "bold"))
                  for rid, command in zip(line.runbooks, line.commands))]
    if line.alert.runbook_url:
        return [Text.assemble(content("no runbook here; the rule's runbook_url: ", "warning"),
                              content(line.alert.runbook_url))]
    return [content("no runbook", "warning")]


COLUMNS = ("severity", "alert", "service", "instance", "firing for", "state")
WIDEST = 36
"""A column grows to its longest value up to this; a longer value pushes the rest of its line."""


def alert_listing(lines: Sequence[AlertLine], now: datetime) -> list[Text]:
    """Two lines per alert, its facts in aligned columns, then under its name what answers it and
    the command that starts it. Print each with soft_wrap: a command is never broken by opsbook, so
    it is copied whole (the terminal may fold it on screen)."""
    rows = []
    for line in lines:
        alert = line.alert
        severity = alert.severity or "-"
        dim = "meta" if alert.suppressed else ""
        rows.append([content(severity, dim or SEVERITY_STYLE.get(severity.lower(), "meta")),
                     content(alert.name or "(no alertname)", dim or "bold"),
                     content(alert.label("service") or "-", dim), content(alert.label("instance") or "-", dim),
                     content(format_duration(alert.firing_seconds(now)), dim), content(line.state, dim)])
    widths = [min(WIDEST, max([len(c) for c in COLUMNS[i:i + 1]] + [r[i].cell_len for r in rows]))
              for i in range(len(COLUMNS))]

    def aligned(cells: Sequence[Text]) -> Text:
        out = Text()
        for i, cell in enumerate(cells):
            out.append_text(cell)
            if i < len(cells) - 1:
                out.append(" " * max(1, widths[i] - cell.cell_len + 2))
        return out

    indent = " " * (widths[0] + 2)
    out = [aligned([Text(c, style="step.header") for c in COLUMNS])]
    for line, row in zip(lines, rows):
        out.append(aligned(row))
        out.extend(Text(indent).append_text(answer) for answer in _answer(line))
    return out


def _counted(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def print_alerts(console: Console, lines: Sequence[AlertLine], source: AlertSource, now: datetime, *,
                 filtered: Mapping[str, str], hidden: int) -> None:
    """The table, or a plain "nothing is firing"; then what is not shown and why."""
    from opsbook.run.alerts import shown_url

    where = f"{source.scope} (Alertmanager {shown_url(source.url)})"
    only = (" with " + ", ".join(f"{k}={v}" for k, v in filtered.items())) if filtered else ""
    if not lines:
        what = "no active alert" if hidden else "no alert"
        console.print(content(f"{what}{only} is firing on {where} at {format_time(now)}", "good"), soft_wrap=True)
    else:
        suppressed = sum(1 for line in lines if line.alert.suppressed)
        counts = f"{len(lines) - suppressed} active" + (f", {suppressed} suppressed" if suppressed else "")
        console.print(content(f"{_counted(len(lines), 'alert')}{only} firing on {where} at {format_time(now)}: "
                              f"{counts}"), soft_wrap=True)
        console.print()
        for text in alert_listing(lines, now):
            console.print(text, soft_wrap=True)
        if suppressed:
            console.print()
            console.print(content("suppressed alerts (after the active ones) are inhibited by a firing cause or "
                                  "silenced: Alertmanager notifies no one of them; --active leaves them out", "meta"))
    if hidden:
        console.print(content(f"{_counted(hidden, 'suppressed alert')} not shown (--active)", "meta"))


def list_alerts(root: Path, *, target: str, project: str | None, labels: Sequence[str], active_only: bool,
                as_json: bool) -> None:
    from opsbook.cli.console import console, errors

    wanted = parse_labels(labels)
    source = alert_source(root, target, project)
    everything = read_source(source)
    alerts = [a for a in everything if a.matches(wanted)]
    now = datetime.now(timezone.utc)
    shown = [a for a in alerts if not (active_only and a.suppressed)]
    catalogue = load_catalogue(root) if shown else None
    lines = alert_lines(shown, catalogue.runbooks if catalogue else [], source, everything=everything)
    if as_json:
        # ASCII: a control character in a label reaches the terminal as \u001b or \u009b, not as itself.
        click.echo(json.dumps([line.as_json(now) for line in lines], indent=2))
    else:
        print_alerts(console, lines, source, now, filtered=wanted, hidden=len(alerts) - len(shown))
    if catalogue is not None:
        warn_unreadable(errors, catalogue)


@click.command(name="alerts")
@click.option("--target", "-t", default=SANDBOX, show_default=True,
              help="Whose Alertmanager to ask: ALERTMANAGER_URL of the target's environment (see opsbook.toml).")
@click.option("--project", metavar="NAME", help="Sandbox compose project (two sandboxes side by side).")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE",
              help="Only alerts with this label value (repeatable; a missing label reads as empty).")
@click.option("--active", "active_only", is_flag=True,
              help="Leave out suppressed alerts (inhibited by a firing cause, or silenced).")
@click.option("--json", "as_json", is_flag=True, help="A JSON list, one object per alert, in the same order.")
def alerts(target: str, project: str | None, labels: tuple[str, ...], active_only: bool, as_json: bool) -> None:
    """The alerts firing now on a target, most severe first, each with the runbook that answers it.

    \b
    Two lines per alert: severity, name, service and instance, how long it has been firing
    and its state; then its runbook (the one whose header lists it under alerts:, else the
    rule's runbook_url, else "no runbook") and the command that starts it with the params its
    labels fill in, never broken so it copies whole. Active alerts come first (critical,
    major, warning, others; the oldest first), then the suppressed ones, marked: inhibited
    by a cause that is firing too, or silenced (--active leaves them out).

    \b
    Exit status: 0 (also when nothing is firing), 1 the Alertmanager cannot be read (for
    the sandbox: it is not set up or not running), 2 usage error.

    \b
    Examples:
      opsbook alerts
      opsbook alerts --target staging
      opsbook alerts --label service=worker --active
      opsbook alerts --json | jq -r '.[] | select(.runbook == null) | .alertname'
    """
    from opsbook.runbook.discover import project_root as root_dir

    list_alerts(root_dir(), target=target, project=project, labels=labels, active_only=active_only, as_json=as_json)


# --- opsbook run --alert -------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRun:
    """What `opsbook run --alert` starts: the runbook, its params (labels, then --param) and the
    notes the record keeps about why."""

    runbook: Runbook
    params: dict[str, str]
    notes: tuple[str, ...]


def _labels_text(labels: Mapping[str, str], secret: frozenset[str] = frozenset()) -> str:
    """`k=v k=v`, the values of labels that fill a secret param masked."""
    return " ".join(f"{k}={'***' if k in secret else v}" for k, v in sorted(labels.items())
                    if k != "alertname") or "no labels"


def _firing_now(alerts: Sequence[FiringAlert]) -> str:
    if not alerts:
        return "nothing is firing"
    names: dict[str, int] = {}
    for alert in alerts:
        names[alert.name] = names.get(alert.name, 0) + 1
    return "firing now: " + ", ".join(f"{n} ({c})" if c > 1 else n for n, c in sorted(names.items()))


def runbook_for_alert(root: Path, name: str, labels: Sequence[str], *, target: str, project: str | None,
                      given: Mapping[str, str], yes: bool, interactive: bool) -> AlertRun:
    """The runbook answering the firing alert `name` and the params its labels give it; prints
    which alert it picked and which params came from which label. See docs/cli.md, `--alert`."""
    from opsbook.cli.console import console, errors
    from opsbook.run.alerts import (distinguishing_labels, named, on_call_order, params_from_labels, primary_runbook,
                                    runbooks_answering)

    wanted = parse_labels(labels)
    catalogue = load_catalogue(root)
    warn_unreadable(errors, catalogue)
    answering = runbooks_answering(catalogue.runbooks, name)
    book = answering[0] if len(answering) == 1 else None
    problem: OpsbookError | None = None
    scope = f"target {target}" if target != SANDBOX else "the sandbox"
    alerts: list[FiringAlert] = []
    try:
        source = alert_source(root, target, project)
        scope = source.scope
        alerts = read_source(source)
    except UsageError:
        raise  # the target or its configuration is wrong: no reason to go on
    except OpsbookError as exc:  # not set up, not running, not answering: the runbook may still be wanted
        problem = exc
    group = named(alerts, name)
    matching = [a for a in group if a.matches(wanted)]
    if len(answering) > 1:  # the rule's runbook_url says which of them (the firing alert carries it)
        book = primary_runbook(answering, matching[0].runbook_url) if matching else None
        if book is None:
            raise UsageError(f"{len(answering)} runbooks answer {name}: {', '.join(rb.id for rb in answering)}; "
                             f"start one by id (opsbook run {answering[0].id}), or point the rule's runbook_url "
                             f"at one of them")
    if group and not matching:
        choices = "; ".join(_labels_text(a.labels) for a in group)
        raise UsageError(f"no {name} alert with {_labels_text(wanted)} is firing on {scope}; the {name} alerts "
                         f"firing: {choices}")
    if not matching:
        if book is None:
            if problem is not None:
                raise problem
            raise UsageError(f"alert {name} is not firing on {scope}, and no runbook answers it "
                             f"({_firing_now(on_call_order(alerts))}; `opsbook alerts` lists them)")
        why = f"cannot tell whether {name} is firing: {problem}" if problem else \
            f"{name} is not firing on {scope} ({_firing_now(alerts)})"
        if yes:
            errors.print(Text.assemble(("warning:", "warning"), " ", content(
                f"{why}; starting {book.id} all the same (--yes), with no params from alert labels")), soft_wrap=True)
        elif interactive:
            console.print(content(f"{why}.", "warning"))
            if not click.confirm(f"Step through {book.id} anyway?", default=False):
                raise click.Abort()
        else:
            raise UsageError(f"{why}; no terminal to ask on: add --yes to start {book.id} all the same")
        return AlertRun(book, dict(given), (f"started with --alert {name}, which was not firing: {why}",))
    picked = matching[0]
    if book is None:
        where = f"; its rule's runbook_url: {picked.runbook_url}" if picked.runbook_url else ""
        raise UsageError(f"{name} is firing on {scope}, but no runbook lists it under alerts:{where}; "
                         f"`opsbook new incidents/NAME --alert {name}` starts one")
    from_labels = params_from_labels(book, picked.labels, given)
    secret = frozenset(lp.label for lp in from_labels if lp.param.secret)
    now = datetime.now(timezone.utc)
    state = "" if not picked.suppressed else ", suppressed (inhibited or silenced)"
    console.print(Text.assemble(("alert ", "step.header"), content(picked.name, "bold"), content(
        f" ({picked.severity or 'no severity'}{state}) firing for {format_duration(picked.firing_seconds(now))} on "
        f"{scope}: {_labels_text(picked.labels, secret)}"), " → ", content(book.id, "runbook.id")), soft_wrap=True)
    if len(matching) > 1:
        others = " ".join(shlex.join(["--label", f"{k}={v}"]) for k, v in distinguishing_labels(matching[1], matching))
        console.print(content(f"{len(matching)} {name} alerts match: this run is for the first in on-call order "
                              f"(active, most severe, oldest); `opsbook alerts` lists the others, and --label picks "
                              f"one (e.g. {others})", "meta"), soft_wrap=True)
    params: dict[str, str] = {}
    for lp in from_labels:
        shown = "***" if lp.param.secret else lp.value
        if lp.overridden:
            console.print(content(f"param {lp.param.name}: --param wins over label {lp.label}", "meta"), soft_wrap=True)
        else:
            params[lp.param.name] = lp.value
            console.print(content(f"param {lp.param.name}={shown} from label {lp.label}"), soft_wrap=True)
    if not from_labels and book.params:
        console.print(content(f"no label of the alert names a param of {book.id}", "meta"))
    params.update(given)
    filled = ", ".join(f"{lp.param.name} ← label {lp.label}" for lp in from_labels if not lp.overridden)
    note = (f"started with --alert {picked.name}: firing since {format_time(picked.starts_at)} on {scope} "
            f"({_labels_text(picked.labels, secret)})" + (f"; params from labels: {filled}" if filled else ""))
    return AlertRun(book, params, (note,))
