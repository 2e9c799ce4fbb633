"""The terminal's look: one theme of named styles, the consoles, and the step header every command draws."""

from __future__ import annotations

import os
import sys

from rich.console import Console, ConsoleOptions, RenderResult
from rich.syntax import Syntax
from rich.text import Text
from rich.theme import Theme

from opsbook.run.events import StepStatus
from opsbook.runbook.model import Step
from opsbook.runbook.options import badge_facts
from opsbook.text import printable

THEME = Theme({
    "step.passed": "green",
    "step.failed": "bold red",
    "step.timed_out": "bold red",
    "step.interrupted": "yellow",
    "step.skipped": "cyan",
    "step.not_run": "dim",
    "step.header": "bold",
    "step.name": "bold cyan",
    "badge": "dim",
    "badge.role": "magenta",
    "badge.destructive": "bold red",
    "badge.ci-skip": "yellow",
    "runbook.title": "bold underline",
    "runbook.id": "bold cyan",
    "meta": "dim",
    "error": "bold red",
    "warning": "yellow",
    "good": "green",
    "hint": "dim",
})
"""Every style the terminal uses, by name: call sites say what a thing is, not how it looks."""

STATUS_LABEL = {
    StepStatus.PASSED: "✔ passed",
    StepStatus.FAILED: "✘ failed",
    StepStatus.TIMED_OUT: "⏱ timed out",
    StepStatus.INTERRUPTED: "■ interrupted",
    StepStatus.SKIPPED: "↷ skipped",
    StepStatus.NOT_RUN: "· not run",
}


class _Console(Console):
    """A themed console that treats a reader who stopped reading (`opsbook show ... | head`) as done."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), (sys.stderr if self.stderr else sys.stdout).fileno())
        raise SystemExit(0)


def make_console(*, stderr: bool = False) -> Console:
    """A console with the opsbook theme (no automatic highlighting of numbers and paths)."""
    return _Console(stderr=stderr, highlight=False, theme=THEME)


console = make_console()
"""Every command's standard output."""
errors = make_console(stderr=True)
"""Every command's errors and warnings (standard error)."""


def content(text: str, style: str = "") -> Text:
    """Text that came from a runbook or a rule file, as rich text: never markup, never an escape sequence."""
    return Text(printable(text), style=style)


def status_text(status: StepStatus) -> Text:
    return Text(STATUS_LABEL[status], style=f"step.{status.value}")


def badge_style(kind: str) -> str:
    if kind.startswith("role-"):
        return "badge.role"
    return f"badge.{kind}" if kind in ("destructive", "ci-skip") else "badge"


class StepHeader:
    """`━━ Step 2/5 · restart-worker [remediate] [timeout 60 s]`, then the step's command."""

    def __init__(self, step: Step, total: int, timeout: int) -> None:
        self.step, self.total, self.timeout = step, total, timeout

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        header = Text(f"\n━━ Step {self.step.index}/{self.total} · ", style="step.header")
        header.append(printable(self.step.name), style="step.name")
        for badge in badge_facts(self.step, self.timeout):
            header.append(f" [{printable(badge.label)}]", style=badge_style(badge.kind))
        yield header

    def command(self) -> Syntax:
        return Syntax(printable(self.step.source), self.step.language, theme="ansi_dark",
                      background_color="default", word_wrap=True)
