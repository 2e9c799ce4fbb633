"""`opsbook run` at the terminal: the live view of a run (a listener) and the operator's prompts."""

from __future__ import annotations

import select
import sys
from typing import IO

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from opsbook.cli.console import StepHeader, content, status_text
from opsbook.run.events import (
    Event,
    RunFinished,
    RunStarted,
    StepFinished,
    StepOutput,
    StepResult,
    StepStarted,
    StepStatus,
)
from opsbook.run.runner import Choice
from opsbook.run.targets import Target
from opsbook.runbook.model import Runbook, Step
from opsbook.runbook.parse import failure_help
from opsbook.text import format_duration, live_output, printable


class LiveView:
    """Listener printing each step, its live output and its outcome; a summary at the end.

    A step's prose is shown around it as the runbook places it: its intro (from the heading
    above it) before its command, its own after-prose once it passed, and, when it failed,
    what that after-prose says to do then, in a panel just before the retry/skip/quit prompt.
    """

    def __init__(self, runbook: Runbook, console: Console, *, show_prose: bool) -> None:
        self.runbook = runbook
        self.console = console
        self.show_prose = show_prose
        self.announced: set[int] = set()
        self.started: set[int] = set()  # steps that ran (a refused destructive step did not)
        self.by_index = {s.index: s for s in runbook.steps}
        self.total = len(runbook.steps)
        self.record_dir = ""

    def announce(self, step: Step) -> None:
        """Show the step before it runs (or before the operator decides)."""
        if step.index in self.announced:
            return
        self.announced.add(step.index)
        header = StepHeader(step, self.total, self.runbook.step_timeout(step))
        self.console.print(header)
        if self.show_prose and step.intro:
            self.console.print(Markdown(printable(step.intro)))
        self.console.print(header.command())

    def on_event(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.console.print(Text.assemble(("opsbook run ", "step.header"), content(event.runbook_id, "runbook.id"),
                                             content(f" · target {event.target} · {event.operator} · {event.started_at}")))
        elif isinstance(event, StepStarted):
            self.announce(self.runbook.steps[event.index - 1])
            self.started.add(event.index)
            if event.attempt > 1:
                self.console.print(Text(f"attempt {event.attempt}", style="warning"))
        elif isinstance(event, StepOutput):
            stream: IO[str] = self.console.file
            stream.write(live_output(event.text))
            stream.flush()
        elif isinstance(event, StepFinished):
            self._finished(event.result)
        elif isinstance(event, RunFinished):
            self._summary(event)

    def _finished(self, result: StepResult) -> None:
        if result.status is StepStatus.NOT_RUN:
            return
        if result.index not in self.announced and result.status is StepStatus.SKIPPED:
            line = content(f"\n↷ Step {result.index}/{self.total} · {result.name} skipped: {result.reason}",
                           "step.skipped")
            self.console.print(line)
            return
        line = status_text(result.status)
        if result.exit_status is not None:
            line.append(f" · exit {result.exit_status}")
        line.append(f" · {format_duration(result.duration)}")
        if result.attempts > 1:
            line.append(f" · {result.attempts} attempts")
        if result.truncated:
            line.append(" · output truncated", style="warning")
        if result.reason and result.status is not StepStatus.PASSED:
            line.append(f"\n  {printable(result.reason)}", style=f"step.{result.status.value}")
        self.console.print(line)
        step = self.by_index.get(result.index)
        if step is None or not step.after:
            return
        if result.status is StepStatus.PASSED and self.show_prose:
            self.console.print(Markdown(printable(step.after)))
        elif result.status in (StepStatus.FAILED, StepStatus.TIMED_OUT) and result.index in self.started:
            self.console.print(self._failure_panel(step, result))

    def _failure_panel(self, step: Step, result: StepResult) -> Panel:
        """What the runbook says to do when this step fails (its "If this step fails" paragraphs)."""
        title = Text.assemble(f"Step {step.index}/{self.total} · ", content(step.name, "step.name"),
                              f" {result.status.value.replace('_', ' ')}: what the runbook says")
        return Panel(Markdown(printable(failure_help(step.after))), title=title, title_align="left",
                     border_style=f"step.{result.status.value}")

    def _summary(self, event: RunFinished) -> None:
        run = event.result
        table = Table(title=content(f"{run.runbook_id} on {run.target}: {run.status.value}"), title_justify="left")
        for column in ("#", "step", "status", "exit", "time", "note"):
            table.add_column(column, overflow="fold")
        for r in run.steps:
            table.add_row(str(r.index), content(r.name), status_text(r.status),
                          "" if r.exit_status is None else str(r.exit_status),
                          format_duration(r.duration) if r.started_at else "", content(r.reason))
        self.console.print()
        self.console.print(table)


def read_answer() -> str:
    """A line from the terminal that Ctrl-C can always interrupt.

    `input()` blocks in readline's select() in the main thread; a SIGINT that the kernel
    delivers to one of the session's other threads would then wait for Enter. Polling keeps
    the main thread running Python code, so the handler raises within a fraction of a second.
    """
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], 0.2)
        if ready:
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            return line


class TerminalPrompt:
    """Asks the operator at the terminal; every question has a safe answer on EOF."""

    def __init__(self, view: LiveView, console: Console) -> None:
        self.view = view
        self.console = console

    def _ask(self, question: str, choices: dict[str, Choice], default: str) -> Choice:
        words = "/".join(v.value for v in choices.values())
        keys = "/".join(choices)
        while True:
            self.console.print(f"{question} [bold]{words}[/bold] [hint]\\[{keys}, default {choices[default].value}][/hint] ",
                               end="")
            try:
                answer = read_answer().strip().lower()
            except EOFError:
                return Choice.QUIT
            if not answer:
                return choices[default]
            for key, choice in choices.items():
                if answer in (key, choice.value):
                    return choice
            self.console.print(f"[warning]answer one of {', '.join(choices)}[/warning]")

    def before_step(self, step: Step) -> Choice:
        self.view.announce(step)
        return self._ask("Run this step?", {"r": Choice.RUN, "s": Choice.SKIP, "q": Choice.QUIT}, "r")

    def after_failure(self, step: Step, result: StepResult) -> Choice:
        return self._ask(f"Step {escape(printable(step.name))} {result.status.value.replace('_', ' ')}.",
                         {"r": Choice.RETRY, "s": Choice.SKIP, "q": Choice.QUIT}, "q")

    def confirm_target(self, target: Target, step: Step | None) -> bool:
        what = f"Step {step.name} is destructive" if step else f"Target {target.name} asks for confirmation"
        self.console.print(Text.assemble(content(f"{what}.", "error"),
                                         content(f" Type the target name ({target.name}) to go on: ")), end="")
        try:
            return read_answer().strip() == target.name
        except EOFError:
            return False


def has_terminal() -> bool:
    return sys.stdin.isatty()
