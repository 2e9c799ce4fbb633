"""The terminal side of `opsbook run`: a live view of the run and the operator's prompts."""

from __future__ import annotations

import select
import sys
from typing import IO

from rich.console import Console
from rich.markdown import Markdown
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from opsbook.execute.events import (
    Event,
    RunFinished,
    RunStarted,
    StepFinished,
    StepOutput,
    StepResult,
    StepStarted,
    StepStatus,
)
from opsbook.execute.runner import Choice
from opsbook.model import Runbook, Step
from opsbook.targets import Target

STATUS_STYLE = {
    StepStatus.PASSED: ("✔ passed", "green"),
    StepStatus.FAILED: ("✘ failed", "bold red"),
    StepStatus.TIMED_OUT: ("⏱ timed out", "bold red"),
    StepStatus.INTERRUPTED: ("■ interrupted", "yellow"),
    StepStatus.SKIPPED: ("↷ skipped", "cyan"),
    StepStatus.NOT_RUN: ("· not run", "dim"),
}


def step_badges(step: Step, default_timeout: int) -> Text:
    """`[remediate] [destructive] [timeout 60s] ...` for a step header."""
    badges = Text()
    options = step.options
    parts: list[tuple[str, str]] = []
    if options.role:
        parts.append((options.role.value, "magenta"))
    if options.destructive:
        parts.append(("destructive", "bold red"))
    timeout = options.timeout if options.timeout is not None else default_timeout
    parts.append((f"timeout {timeout}s", "dim"))
    if options.retry:
        parts.append((f"retry {options.retry.attempts}x{options.retry.delay:g}s", "dim"))
    if options.expect:
        parts.append((f"expect exit {options.expect}", "dim"))
    if options.targets:
        parts.append(("targets " + ",".join(options.targets), "dim"))
    if options.ci == "skip":
        parts.append(("ci skip", "yellow"))
    for label, style in parts:
        badges.append(f" [{label}]", style=style)
    return badges


class LiveView:
    """Listener printing each step, its live output and its outcome; a summary at the end."""

    def __init__(self, runbook: Runbook, console: Console, *, show_prose: bool) -> None:
        self.runbook = runbook
        self.console = console
        self.show_prose = show_prose
        self.announced: set[int] = set()
        self.total = len(runbook.steps)
        self.record_dir = ""

    def announce(self, step: Step) -> None:
        """Show the step before it runs (or before the operator decides)."""
        if step.index in self.announced:
            return
        self.announced.add(step.index)
        header = Text(f"\n━━ Step {step.index}/{self.total} · ", style="bold")
        header.append(step.name, style="bold cyan")
        header.append_text(step_badges(step, self.runbook.timeout))
        self.console.print(header)
        if self.show_prose and step.prose:
            self.console.print(Markdown(step.prose))
        self.console.print(Syntax(step.source, "bash", theme="ansi_dark", background_color="default",
                                  word_wrap=True))

    def on_event(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.console.print(Text.assemble(("opsbook run ", "bold"), (event.runbook_id, "bold cyan"),
                                             f" · target {event.target} · {event.operator} · {event.started_at}"))
        elif isinstance(event, StepStarted):
            self.announce(self.runbook.steps[event.index - 1])
            if event.attempt > 1:
                self.console.print(Text(f"attempt {event.attempt}", style="yellow"))
        elif isinstance(event, StepOutput):
            stream: IO[str] = self.console.file
            stream.write(event.text)
            stream.flush()
        elif isinstance(event, StepFinished):
            self._finished(event.result)
        elif isinstance(event, RunFinished):
            self._summary(event)

    def _finished(self, result: StepResult) -> None:
        if result.status is StepStatus.NOT_RUN:
            return
        if result.index not in self.announced and result.status is StepStatus.SKIPPED:
            line = Text(f"\n↷ Step {result.index}/{self.total} · {result.name} skipped: {result.reason}", style="cyan")
            self.console.print(line)
            return
        label, style = STATUS_STYLE[result.status]
        line = Text(label, style=style)
        if result.exit_status is not None:
            line.append(f" · exit {result.exit_status}")
        line.append(f" · {result.duration:.2f} s")
        if result.attempts > 1:
            line.append(f" · {result.attempts} attempts")
        if result.truncated:
            line.append(" · output truncated", style="yellow")
        if result.reason and result.status is not StepStatus.PASSED:
            line.append(f"\n  {result.reason}", style=style)
        self.console.print(line)

    def _summary(self, event: RunFinished) -> None:
        run = event.result
        table = Table(title=f"{run.runbook_id} on {run.target}: {run.status.value}", title_justify="left")
        for column in ("#", "step", "status", "exit", "time", "note"):
            table.add_column(column, overflow="fold")
        for r in run.steps:
            label, style = STATUS_STYLE[r.status]
            table.add_row(str(r.index), r.name, Text(label, style=style),
                          "" if r.exit_status is None else str(r.exit_status),
                          f"{r.duration:.2f}s" if r.started_at else "", r.reason)
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
            self.console.print(f"{question} [bold]{words}[/bold] [dim]\\[{keys}, default {choices[default].value}][/dim] ",
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
            self.console.print(f"[yellow]answer one of {', '.join(choices)}[/yellow]")

    def before_step(self, step: Step) -> Choice:
        self.view.announce(step)
        return self._ask("Run this step?", {"r": Choice.RUN, "s": Choice.SKIP, "q": Choice.QUIT}, "r")

    def after_failure(self, step: Step, result: StepResult) -> Choice:
        return self._ask(f"Step {step.name} {result.status.value.replace('_', ' ')}.",
                         {"r": Choice.RETRY, "s": Choice.SKIP, "q": Choice.QUIT}, "q")

    def confirm_target(self, target: Target, step: Step | None) -> bool:
        what = f"Step {step.name} is destructive" if step else f"Target {target.name} asks for confirmation"
        self.console.print(f"[bold red]{what}.[/bold red] Type the target name ({target.name}) to go on: ", end="")
        try:
            return read_answer().strip() == target.name
        except EOFError:
            return False


def has_terminal() -> bool:
    return sys.stdin.isatty()
