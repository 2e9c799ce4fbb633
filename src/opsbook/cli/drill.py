"""`opsbook drill`: the command line and the terminal display of a drill (the work is in `opsbook.drill`)."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.text import Text

from opsbook.cli.console import content, make_console, status_text
from opsbook.drill.report import MEASURES, OUTCOME_TEXT, DrillReport, Outcome, measured
from opsbook.drill.watch import Change, Milestone
from opsbook.errors import SandboxError, UsageError
from opsbook.run.events import Event, Listener, StepFinished, StepStarted
from opsbook.sandbox.settings import DEFAULT_PROJECT
from opsbook.text import display_path, format_duration, format_time

if TYPE_CHECKING:
    from opsbook.drill.session import DrillPlan, DrillState

EXIT_FOR_OUTCOME = {Outcome.MITIGATED: 0, Outcome.NOT_MITIGATED: 1, Outcome.ERROR: 1, Outcome.INTERRUPTED: 130}

PLAIN_PROGRESS_EVERY = 60.0
"""Seconds between progress lines when stdout is not a terminal (a log)."""


def _since(seconds: float | None) -> str:
    return "not yet" if seconds is None else f"after {format_duration(seconds)}"


class _StepLines:
    """--auto: a line per step of the run, as it starts and as it ends."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_event(self, event: Event) -> None:
        if isinstance(event, StepStarted) and event.attempt == 1:
            self.console.print(Text.assemble("    step ", content(event.name, "step.name")), soft_wrap=True)
        elif isinstance(event, StepFinished):
            result = event.result
            line = Text.assemble("    ", status_text(result.status), " ", content(result.name),
                                 (f" {format_duration(result.duration)}", "meta"))
            if result.reason and result.status.value != "passed":
                line.append_text(content(f" — {result.reason}", "meta"))
            self.console.print(line, soft_wrap=True)


class TerminalDrillReporter:
    """Progress on the terminal. A drill picked at random names nothing that would give the fault away."""

    def __init__(self, console: Console, plan: DrillPlan) -> None:
        self.console = console
        self.plan = plan
        self.secret = plan.picked_at_random
        self._status: Any = None
        self._last_line = 0.0
        self._injected_at: datetime | None = None

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def phase(self, text: str) -> None:
        self.console.print(content(f"… {text}", "meta"))

    def injected(self, at: datetime) -> None:
        self._injected_at = at
        plan = self.plan
        clock = format_time(at)
        if self.secret:
            self.console.print(content(f"a fault is injected; the clock runs ({clock}).", "bold"))
        else:
            alerts = ", ".join(plan.fault.alerts) or "none"
            self.console.print(Text.assemble(content(plan.fault.name, "bold"), content(
                f" is injected; the clock runs ({clock}). Alerts it fires: {alerts}.")), soft_wrap=True)
        flag = f" --project {plan.project}" if plan.project != DEFAULT_PROJECT else ""
        if plan.auto is None:
            self.console.print(content(
                f"Respond as to a page, in another terminal: `opsbook alerts{flag}`, then `opsbook run ...{flag}` "
                f"(its record in .opsbook/runs/ counts)."), soft_wrap=True)
        self.console.print(content(
            f"The drill ends once the fault is mitigated, or after {format_duration(plan.timeout)}. "
            "Ctrl-C stops it sooner; the sandbox is healed either way."), soft_wrap=True)
        if self.console.is_terminal:
            self._status = self.console.status("", spinner="dots")
            self._status.start()

    def _line(self, state: DrillState) -> str:
        text = (f"elapsed {format_duration(state.elapsed)} · detected {_since(state.detected)} · "
                f"first runbook step {_since(state.first_step)} · mitigated {_since(state.mitigated)}")
        if not self.secret and state.fault_alerts_firing:
            text += f" · firing: {', '.join(state.fault_alerts_firing)}"
        return text

    def tick(self, state: DrillState) -> None:
        if self._status is not None:
            self._status.update(content(self._line(state)))
        elif time.monotonic() - self._last_line >= PLAIN_PROGRESS_EVERY:
            self._last_line = time.monotonic()
            self.console.print(content(self._line(state), "meta"), soft_wrap=True)

    def milestone(self, milestone: Milestone, state: DrillState) -> None:
        after = format_duration(max(0.0, (milestone.at - self._injected_at).total_seconds())) \
            if self._injected_at else "?"
        detected = "detected: an alert of the fault fired" if self.secret else f"detected: {milestone.detail} fired"
        what = {
            Change.DETECTED: detected,
            Change.FIRST_STEP: "first runbook step started",
            Change.MITIGATED: "mitigated: symptom gone, sandbox healthy, the fault's alerts resolved",
            Change.RUN_SEEN: f"run seen: {display_path(Path(milestone.detail), self.plan.root)}",
            Change.SYMPTOM: "the fault's symptom is visible",
            Change.ALERT_FIRED: f"alert fired: {milestone.detail}",
            Change.ALERT_RESOLVED: f"alert resolved: {milestone.detail}",
        }[milestone.change]
        if self.secret and milestone.change in (Change.SYMPTOM, Change.ALERT_FIRED, Change.ALERT_RESOLVED):
            return
        self.console.print(Text.assemble((f"  {format_time(milestone.at, clock_only=True)} +{after} ", "meta"),
                                         content(what)), soft_wrap=True)

    def listener(self) -> Listener | None:
        return _StepLines(self.console)


def _aftermath(report: DrillReport) -> str:
    left = report.aftermath
    if left is None:
        return "unknown"
    text = ", ".join(filter(None, ["healed" if left.healed else "the heal failed",
                                   "then reset (it was not healthy)" if left.reset else "",
                                   "healthy" if left.healthy else "NOT healthy: run `opsbook sandbox reset`"]))
    return text + (f" ({left.message})" if left.message else "")


def _outcome_lines(console: Console, report: DrillReport, out: Path) -> None:
    console.print()
    if report.picked_at_random:
        console.print(Text.assemble("the fault was ", content(report.scenario, "bold"), content(
            f": {report.summary}" if report.summary else "")), soft_wrap=True)
    style = {Outcome.MITIGATED: "good", Outcome.INTERRUPTED: "warning"}.get(report.outcome, "error")
    console.print(Text.assemble("drill ", (OUTCOME_TEXT[report.outcome], style)), soft_wrap=True)
    for measure, title, _ in MEASURES:
        console.print(content(f"  {title.lower():<32} {measured(report, measure)}"))
    console.print(content(f"  sandbox afterwards: {_aftermath(report)}"), soft_wrap=True)
    console.print(f"report: [bold]{out / 'report.md'}[/bold] (and report.json)", highlight=False)
    records = " ".join(r.path for r in report.records) or "RECORD_DIR"
    console.print(content(f"write it up: opsbook postmortem {records} --drill {out / 'report.json'}"),
                  soft_wrap=True)


EPILOG = """\b
Examples:
  opsbook drill app-down                  a named fault; respond in another terminal
  opsbook drill --random                  a fault picked at random: you are not told which
  opsbook drill exporter-down --auto      the matching runbook runs itself (no person)
  opsbook drill --random --timeout 900 --project drills

\b
It resets the sandbox, injects the fault, then measures from the injection:
  time to detect       the first of the fault's alerts firing in Prometheus
  first runbook step   the first step of an `opsbook run` on the sandbox started
                       after the injection (records in .opsbook/runs/)
  time to mitigate     the fault's symptom gone, the sandbox healthy, its alerts resolved
It ends when mitigated, at --timeout or on Ctrl-C, heals the sandbox (and resets it if
it is still not healthy), and writes report.md and report.json to --out.

\b
Exit status: 0 mitigated, 1 not mitigated in time (or the sandbox failed),
2 usage error, 130 interrupted (Ctrl-C; the report is written and says so)."""


@click.command("drill", epilog=EPILOG)
@click.argument("scenario", required=False)
@click.option("--random", "random_pick", is_flag=True,
              help="Pick one of the faults the incident library's cases inject, and do not say which.")
@click.option("--auto", is_flag=True,
              help="No person: run the runbook case whose scenario is the fault, once it shows, and time it.")
@click.option("--target", "-t", default="sandbox", show_default=True,
              help="Drills run on the sandbox only: any other target is refused.")
@click.option("--project", metavar="NAME", help="Sandbox compose project [default: opsbook].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Where to write report.md and report.json [default: .opsbook/drills/<UTC time>-<scenario>].")
@click.option("--timeout", type=click.FloatRange(min=1), default=1800.0, show_default=True, metavar="SECONDS",
              help="Seconds from the injection after which the drill ends, not mitigated.")
def drill(scenario: str | None, random_pick: bool, auto: bool, target: str, project: str | None, out: Path | None,
          timeout: float) -> None:
    """Break the sandbox the way an incident would and time the response.

    SCENARIO is a fault of sandbox/faults (`opsbook sandbox fault --list`), such as the
    scenario of a runbook's verification case; or give --random.
    """
    from opsbook.drill.scenarios import case_for, library_cases, library_scenarios, pick_scenario
    from opsbook.drill.session import Drill, DrillPlan
    from opsbook.runbook.discover import excluded_names, find_runbooks, project_root, runbooks_dir
    from opsbook.sandbox import Sandbox

    if target != "sandbox":
        raise UsageError(f"drills run on the sandbox only, not on target {target!r}: a drill breaks its target on "
                         "purpose. Practise on the sandbox (leave out --target)")
    if scenario and random_pick:
        raise UsageError(f"give SCENARIO or --random, not both (--random picks the scenario; {scenario} would tell it)")
    if not scenario and not random_pick:
        raise UsageError("give a SCENARIO (a fault: `opsbook sandbox fault --list`), or --random")
    root = project_root()
    box = Sandbox(root, project)
    try:
        faults = {f.name: f for f in box.faults()}
    except SandboxError as exc:
        raise UsageError(str(exc)) from exc
    folder = runbooks_dir(root)
    cases = library_cases(find_runbooks(folder, excluded_names(root)).runbooks) if folder.is_dir() else []
    if random_pick:
        choices = library_scenarios(cases, faults)
        if not choices:
            raise UsageError(f"no runbook case in {folder} injects a fault of sandbox/faults: nothing to pick from")
        scenario = pick_scenario(choices)
    assert scenario is not None
    if scenario not in faults:
        raise UsageError(f"unknown scenario {scenario!r}: a drill injects a fault of sandbox/faults, one of: "
                         f"{', '.join(sorted(faults))}")
    case = case_for(cases, scenario) if auto else None
    if auto and case is None:
        raise UsageError(f"--auto runs the runbook case whose scenario is {scenario}, and no runbook case in "
                         f"{folder} names it; drill it with a person (leave out --auto)")
    if not box.env_file.exists():
        flag = "" if box.project == DEFAULT_PROJECT else f" --project {box.project}"
        raise SandboxError(f"sandbox {box.project} is not set up: start it with `opsbook sandbox up{flag}`, then "
                           "drill")
    started = datetime.now(timezone.utc)
    # Written when the drill ends (its name would give a --random fault away before).
    out_dir = out or root / ".opsbook" / "drills" / f"{started.strftime('%Y%m%dT%H%M%SZ')}-{scenario}"
    plan = DrillPlan(root=root, fault=faults[scenario], project=box.project, out=out_dir,
                     record_folders=(root / ".opsbook" / "runs",), timeout=timeout, picked_at_random=random_pick,
                     auto=case)
    console = make_console()
    if random_pick:
        console.print(content(f"drill on sandbox {box.project}: a scenario picked at random from the incident "
                              f"library", "bold"), soft_wrap=True)
    else:
        console.print(Text.assemble(content(f"drill on sandbox {box.project}: ", "bold"),
                                    content(scenario, "bold"), content(f" — {faults[scenario].summary}")),
                      soft_wrap=True)
    if case is not None:
        console.print(content(f"--auto: {case.label} runs once the fault shows", "meta"), soft_wrap=True)
    reporter = TerminalDrillReporter(console, plan)
    try:
        report = Drill(box, plan, reporter).run()
    finally:
        reporter.close()
    _outcome_lines(console, report, out_dir)
    if report.outcome is Outcome.ERROR:
        make_console(stderr=True).print(Text.assemble(("error:", "error"), " ", content(report.error)), soft_wrap=True)
    sys.exit(EXIT_FOR_OUTCOME[report.outcome])
