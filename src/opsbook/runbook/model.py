"""Frozen records of what a runbook says: produced by parse, read by everything else."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Union

from opsbook.kernel.protocol import KERNEL_NAME

FORMAT_VERSION = 1
"""The newest runbook format this opsbook reads (`opsbook: format:` in the header)."""

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
ALERT_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
"""What Prometheus (and promtool) accept as an alert name."""
DEFAULT_TIMEOUT = 300
"""Seconds a step may run when neither the step nor the runbook says otherwise."""


class Role(str, Enum):
    """What a step is for; verification runs `diagnose` steps first against the fault."""

    DIAGNOSE = "diagnose"
    REMEDIATE = "remediate"
    VERIFY = "verify"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class Retry:
    """Run a failing step again: `attempts` runs in all, `delay` seconds between them."""

    attempts: int
    delay: float


@dataclass(frozen=True)
class StepOptions:
    """Options from a step's fence info string, validated and with defaults applied."""

    timeout: int | None = None  # None: the runbook's default timeout
    expect: int = 0
    output: str | None = None
    not_output: str | None = None
    retry: Retry | None = None
    destructive: bool = False
    ci: str = "run"  # "run" | "skip"
    ci_reason: str = ""  # why CI skips it (from ci="skip: reason")
    targets: tuple[str, ...] = ()  # empty: every target
    role: Role | None = None
    needs: tuple[str, ...] = ()  # shell variables an earlier step sets that this step uses


@dataclass(frozen=True)
class Step:
    """One command cell: what runs, where it is in the file, and how it is judged.

    The prose around a step is split by headings: the Markdown between a step and the next
    heading (or the next step, whichever comes first) is the step's own `after` (what good
    output looks like, what to do if it fails); the Markdown between a heading and the step
    below it is that step's `intro`.
    """

    index: int  # 1-based position among the runbook's steps
    name: str
    language: str  # kernel language, "bash"
    source: str
    line: int  # line of the opening fence in the runbook file
    options: StepOptions = field(default_factory=StepOptions)
    prose: str = ""  # the Markdown between the previous step and this one (the previous step's `after` included)
    intro: str = ""  # the part of `prose` from the first heading after the previous step (the first step: all of it)
    after: str = ""  # from the end of this fence to the next heading or step (the Prose cell after it starts so)

    def runs_on(self, target: str) -> bool:
        return not self.options.targets or target in self.options.targets


@dataclass(frozen=True)
class Prose:
    """A Markdown block between steps (including console/text fences, which never run)."""

    text: str
    line: int


Cell = Union[Prose, Step]


@dataclass(frozen=True)
class Param:
    """A runbook parameter, exported to the steps as an environment variable of the same name."""

    name: str
    default: str | None = None  # None: must be given with --param NAME=VALUE
    help: str = ""
    secret: bool = False


@dataclass(frozen=True)
class VerifyCase:
    """One way verification runs the runbook (e.g. a good and a broken version to deploy)."""

    name: str
    params: tuple[tuple[str, str], ...] = ()
    scenario: str | None = None  # overrides the runbook's scenario for this case
    alerts: tuple[str, ...] | None = None  # the alerts this case's fault fires; None: the runbook's `alerts`
    within: float | None = None  # seconds the case's steps may take, first start to last end; None: no limit


@dataclass(frozen=True)
class Runbook:
    """A parsed runbook file: its header fields and its cells in file order."""

    id: str  # path below the runbooks root without ".md", e.g. "incidents/worker-queue-backed-up"
    path: Path
    title: str
    summary: str = ""
    owner: str = ""
    severity: str = "SEV3"
    services: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    scenario: str | None = None
    targets: tuple[str, ...] = ()  # empty: every target
    params: tuple[Param, ...] = ()
    timeout: int = DEFAULT_TIMEOUT
    verify: tuple[VerifyCase, ...] = (VerifyCase("default"),)
    kernel: str = KERNEL_NAME
    cells: tuple[Cell, ...] = ()

    @functools.cached_property
    def steps(self) -> tuple[Step, ...]:
        """The cells that run, in order (computed once: a runbook can have thousands)."""
        return tuple(c for c in self.cells if isinstance(c, Step))

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def step_timeout(self, step: Step) -> int:
        return step.options.timeout if step.options.timeout is not None else self.timeout
