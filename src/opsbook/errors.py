"""The one exception hierarchy of opsbook: every failure a user can see is an OpsbookError."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class OpsbookError(Exception):
    """Base class: a failure with a message meant for the person at the terminal."""


@dataclass(frozen=True)
class FormatProblem:
    """One problem in a runbook file, located to a line, with a hint on how to fix it."""

    path: Path
    line: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text

    def as_warning(self) -> str:
        """The problem as a warning: the runbook still runs."""
        text = f"{self.path}:{self.line}: warning: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text


class RunbookFormatError(OpsbookError):
    """A runbook cannot be read; carries every problem found, not just the first."""

    def __init__(self, problems: list[FormatProblem]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else None
        self.path = first.path if first else None
        self.line = first.line if first else 0
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(OpsbookError):
    """The command line asked for something that cannot be done (exit status 2)."""


class StepFailed(OpsbookError):
    """A step ended with an exit status or output that its options do not accept."""


class StepTimeout(StepFailed):
    """A step ran longer than its timeout and was stopped."""


class KernelDied(OpsbookError):
    """The kernel process running the steps went away mid-run."""


class SandboxError(OpsbookError):
    """The compose sandbox could not be built, started, checked or changed."""


class ConfirmationRefused(OpsbookError):
    """A step needed a typed confirmation and did not get it (or there was no terminal)."""


class RecordError(OpsbookError):
    """A run record cannot be read or written (damaged line, missing file, full disk)."""


class StatusFileError(OpsbookError):
    """status.json exists but cannot be used (bad JSON, unknown schema, missing fields)."""


class AlertRulesError(OpsbookError):
    """A rule file that is not valid YAML or not a Prometheus rule file."""


class KernelSettingsError(OpsbookError, ValueError):
    """An OPSBOOK_* variable the kernel reads at start has a value it cannot use."""


class ShellStateError(OpsbookError, RuntimeError):
    """The kernel could not restore, save or export the shell state of a session."""
