"""Run a runbook's steps in one kernel session and judge each one by its options.

Plan (which steps, in what order) → for each step: confirm, execute, judge, retry → events.
Every consumer (terminal view, record writer, JUnit) is a Listener; outputs are masked
before any listener sees them. The run stops at the first failing step; the steps after it
are recorded as not run, never as passed.

A run that starts in the middle (`--from`, `--step`, resuming) first checks that every step it
will run finds the variables its `needs=` names: from a parameter, the target, the state of an
earlier run (`--state-from`, or the resumed record), or a step that runs before it; else it
stops before running anything. Every step that ran leaves in its StepFinished the variables the
runbook's steps set (secret values withheld), which is what `--state-from` reads back.
"""

from __future__ import annotations

import getpass
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from opsbook.errors import KernelDied, UsageError
from opsbook.run.events import (
    Event,
    Listener,
    RunFinished,
    RunResult,
    RunStarted,
    RunStatus,
    ShellVariables,
    StepFinished,
    StepOutput,
    StepResult,
    StepStarted,
    StepStatus,
    combined_output,
    fold_variables,
)
from opsbook.kernel.state import variables_state
from opsbook.runbook.model import Runbook, Step
from opsbook.runbook.variables import names_set_by, step_variables
from opsbook.run.redact import Masker, StreamMasker
from opsbook.run.targets import Target
from opsbook.text import display_path, utc_now

STATE_FILE = "state.sh"
DONE = (StepStatus.PASSED, StepStatus.SKIPPED)


class Choice(str, Enum):
    RUN = "run"
    SKIP = "skip"
    RETRY = "retry"
    QUIT = "quit"


class Prompt(Protocol):
    """The person at the terminal. Without one (CI, no tty), nothing needing a human runs."""

    def before_step(self, step: Step) -> Choice: ...

    def after_failure(self, step: Step, result: StepResult) -> Choice: ...

    def confirm_target(self, target: Target, step: Step | None) -> bool: ...


@dataclass(frozen=True)
class PriorState:
    """The shell variables an earlier run left (`--state-from RECORD_DIR`), to start this one with."""

    source: str  # the record directory, as the person gave it
    variables: ShellVariables


def recorded_state(events: Sequence[Event]) -> ShellVariables | None:
    """The variables as the last step that ran in a record left them; None if no step saved any.

    A resumed record holds several sessions: the last one that ran a step counts (it started from
    the state of the one before)."""
    sessions: list[list[ShellVariables]] = []
    for event in events:
        if isinstance(event, RunStarted):
            sessions.append([])
        elif isinstance(event, StepFinished) and event.state is not None:
            if not sessions:
                sessions.append([])
            sessions[-1].append(event.state)
    ran = [states for states in sessions if states]
    return fold_variables(ran[-1]) if ran else None


@dataclass(frozen=True)
class RunOptions:
    """How to run: where, with which parameters, which steps, and where to keep the record."""

    target: Target
    params: Mapping[str, str] = field(default_factory=dict)
    assume_yes: bool = False  # run every step without asking
    only_step: str | None = None
    from_step: str | None = None
    ci: bool = False  # verification: honour ci="skip"
    record_dir: Path | None = None  # the shell state is saved here (state.sh) after every passed step
    previous: tuple[Event, ...] | None = None  # resuming: the earlier run's events; continue at its first step not passed
    cwd: Path | None = None
    operator: str = ""
    output_cap: int | None = None
    notes: tuple[str, ...] = ()  # said at the top of the record (RunStarted)
    state_from: PriorState | None = None  # start the session with an earlier run's variables
    confirmed_target: str | None = None  # --confirm-target: the target's name given instead of typed (CI)

    @property
    def resume(self) -> bool:
        return self.previous is not None


def declared_needs(runbook: Runbook) -> set[str]:
    """Every variable some step of the runbook names in `needs=`."""
    return {name for step in runbook.steps for name in step.options.needs}


def resolve_params(runbook: Runbook, given: Mapping[str, str]) -> dict[str, str]:
    """Runbook defaults overridden by --param; unknown or missing parameters are usage errors.

    A variable a step `needs=` may be given with --param too (starting that step with no earlier
    step to set it)."""
    declared = {p.name: p for p in runbook.params}
    needs = declared_needs(runbook)
    unknown = sorted(set(given) - set(declared) - needs)
    if unknown:
        known = ", ".join(declared) or "none"
        also = f"; variables steps need: {', '.join(sorted(needs))}" if needs else ""
        raise UsageError(f"unknown parameter {', '.join(unknown)} for {runbook.id} (declared: {known}{also})")
    values = {name: p.default for name, p in declared.items() if p.default is not None}
    values.update(given)
    missing = [name for name in declared if name not in values]
    if missing:
        helps = "; ".join(f"{n}: {declared[n].help}" if declared[n].help else n for n in missing)
        raise UsageError(f"missing parameter {', '.join(missing)} ({helps}); give it with --param NAME=VALUE")
    return values


def secret_values(runbook: Runbook, target: Target, params: Mapping[str, str],
                  withheld: Sequence[str] = ()) -> dict[str, str]:
    """Name → value of every secret this run knows: secret params and secret target variables,
    and the variables given with --param that an earlier run's record withheld as secret."""
    secrets = dict(target.secrets)
    for p in runbook.params:
        if p.secret and params.get(p.name):
            secrets[p.name] = params[p.name]
    for name in withheld:
        if params.get(name):
            secrets[name] = params[name]
    return secrets


@dataclass(frozen=True)
class MissingNeed:
    """A variable a step needs that nothing in this run provides."""

    name: str
    step: Step
    setters: tuple[str, ...]  # the steps of the runbook that set it
    secret_in: str = ""  # the --state-from record that withheld it as a secret


def missing_needs(runbook: Runbook, plan: Sequence[tuple[Step, str]], available: Collection[str],
                  withheld: Collection[str] = (), withheld_in: str = "") -> list[MissingNeed]:
    """For each step that runs (reason ""), the names in its `needs=` that neither `available`
    nor a step running before it in this plan provides."""
    have = set(available)
    missing = []
    for step, reason in plan:
        if reason:
            continue
        for name in step.options.needs:
            if name not in have:
                setters = tuple(s.name for s in runbook.steps if name in step_variables(s.source).sets)
                missing.append(MissingNeed(name, step, setters, withheld_in if name in withheld else ""))
        have.update(step_variables(step.source).sets)
    return missing


def _missing_message(runbook: Runbook, start: str, missing: Sequence[MissingNeed], root: Path) -> str:
    lines = [f"{runbook.id}: {start}, and nothing gives the steps what they need (nothing ran):"]
    for need in missing:
        where = f"{display_path(runbook.path, root)}:{need.step.line}"
        if need.secret_in:
            source = (f"its value in {need.secret_in} is a secret, which a record never keeps: "
                      f"give it with --param {need.name}=VALUE")
        elif need.setters:
            setters = ", ".join(f"`{s}`" for s in need.setters)
            source = f"set by step{'s' if len(need.setters) > 1 else ''} {setters}, which does not run before it"
        else:
            source = "no step of the runbook sets it"
        lines.append(f"  ${need.name}, needed by step `{need.step.name}` ({where}): {source}")
    names = list(dict.fromkeys(n.name for n in missing))
    lines.append(f"give {'it' if len(names) == 1 else 'them'} with "
                 + " ".join(f"--param {n}=VALUE" for n in names)
                 + ", or start with the variables of an earlier run of these steps: --state-from RECORD_DIR "
                   "(the record directory that run printed)")
    return "\n".join(lines)


def previous_outcome(events: Sequence[Event]) -> tuple[dict[int, StepStatus], dict[str, str]]:
    """From an earlier record: the last status of each step and the (masked) params it used."""
    statuses: dict[int, StepStatus] = {}
    params: dict[str, str] = {}
    for event in events:
        if isinstance(event, RunStarted):
            params.update(dict(event.params))
        elif isinstance(event, StepFinished):
            statuses[event.result.index] = event.result.status
    return statuses, params


class _Interrupts:
    """Ctrl-C while a step runs interrupts that step; a second Ctrl-C (or one outside a step) quits."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.count = 0
        self.armed = False
        self.previous: Any = None
        self.installed = False

    def __enter__(self) -> "_Interrupts":
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
            self.installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.installed:
            signal.signal(signal.SIGINT, self.previous)

    def arm(self) -> None:
        self.count, self.armed = 0, True

    def disarm(self) -> None:
        self.armed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if not self.armed or self.count > 1:
            raise KeyboardInterrupt
        self.session.interrupt()


class _Quit(Exception):
    """The operator chose quit."""


def judge(step: Step, execution: Any, timeout: int) -> tuple[StepStatus, str]:
    """Status of one attempt, and for a failure what the author or operator needs to know."""
    options = step.options
    if execution.interrupted:
        return StepStatus.INTERRUPTED, "interrupted (Ctrl-C)"
    if execution.timed_out:
        return StepStatus.TIMED_OUT, f"timed out after {timeout} s (the step's process group was stopped)"
    if execution.exit_status is None:
        return StepStatus.FAILED, "ended without an exit status (killed by a signal, or the kernel stopped)"
    if execution.exit_status != options.expect:
        return StepStatus.FAILED, f"exit status {execution.exit_status}, expected {options.expect}"
    output = combined_output(execution.stdout, execution.stderr)
    if options.output and not re.search(options.output, output, re.MULTILINE):
        return StepStatus.FAILED, f"output did not match output=/{options.output}/"
    if options.not_output:
        found = re.search(options.not_output, output, re.MULTILINE)
        if found:
            line = output[output.rfind("\n", 0, found.start()) + 1:].split("\n", 1)[0].strip()
            return StepStatus.FAILED, f"output matched not_output=/{options.not_output}/: {line[:200]}"
    return StepStatus.PASSED, ""


def operator_name() -> str:
    """Who runs opsbook: the login name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


class Runner:
    """One run of one runbook. Use `run_runbook`."""

    def __init__(self, runbook: Runbook, options: RunOptions, listeners: Sequence[Listener],
                 prompt: Prompt | None) -> None:
        self.runbook = runbook
        self.options = options
        self.listeners = list(listeners)
        self.prompt = prompt
        self.params = resolve_params(runbook, options.params)
        prior = options.state_from.variables if options.state_from is not None else None
        self.secrets = secret_values(runbook, options.target, self.params, prior.withheld if prior else ())
        self.masker = Masker(self.secrets)
        self.results: dict[int, StepResult] = {}
        self.session: Any = None
        self.interrupts: _Interrupts | None = None
        # The variables kept in the record: those the steps set or need, and those carried in.
        self.tracked = names_set_by(s.source for s in runbook.steps) | declared_needs(runbook)
        if prior is not None:
            self.tracked |= {name for name, _ in prior.values}
        self._state: ShellVariables | None = None  # all of it, as the step that just ran left it
        self._withheld: tuple[str, ...] = ()  # variables whose values hold a secret, as of that step
        self._recorded: dict[str, str] = {}  # the values the record holds for this session so far

    # -- plumbing ---------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener.on_event(event)

    def finish(self, result: StepResult) -> StepResult:
        self.results[result.index] = result
        ran = result.status not in (StepStatus.SKIPPED, StepStatus.NOT_RUN)
        self.emit(StepFinished(result, self._changes() if ran else None))
        return result

    def _changes(self) -> ShellVariables | None:
        """What the step that just ran changed in the variables, against what the record holds:
        a large value set once is stored once, not at every step after it."""
        state = self._state
        if state is None:
            return None
        now = dict(state.values)
        changed = tuple((name, value) for name, value in state.values if self._recorded.get(name) != value)
        removed = tuple(name for name in self._recorded if name not in now)
        self._recorded = now
        return ShellVariables(values=changed, exported=state.exported, withheld=state.withheld, removed=removed)

    def kernel_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.options.target.env)
        env.update(self.params)
        env["OPSBOOK_TARGET"] = self.options.target.name
        env["OPSBOOK_RUNBOOK"] = self.runbook.id
        # A step that runs another runbook (`opsbook run ...`) gets this opsbook, installed or not.
        own = Path(sys.executable).parent
        if (own / "opsbook").exists():
            env["PATH"] = os.pathsep.join([str(own), env.get("PATH", "")])
        return env

    # -- plan -------------------------------------------------------------------------------

    def plan(self, done: Mapping[int, StepStatus]) -> list[tuple[Step, str]]:
        """Each step with "" (run it) or the reason it is skipped before it starts."""
        names = [s.name for s in self.runbook.steps]
        for flag, name in (("--step", self.options.only_step), ("--from", self.options.from_step)):
            if name is not None and name not in names:
                raise UsageError(f"{flag} {name}: no such step in {self.runbook.id} (steps: {', '.join(names)})")
        start = names.index(self.options.from_step) + 1 if self.options.from_step else 1
        target = self.options.target.name
        plan = []
        for step in self.runbook.steps:
            reason = ""
            if self.options.only_step and step.name != self.options.only_step:
                reason = f"not selected (--step {self.options.only_step})"
            elif step.index < start:
                reason = f"before --from {self.options.from_step}"
            elif done.get(step.index) in DONE:
                reason = f"already {done[step.index].value} before the run was resumed"
            elif self.options.ci and step.options.ci == "skip":  # its reason is what CI readers need
                reason = "ci: skip" + (f" ({step.options.ci_reason})" if step.options.ci_reason else "")
            elif not step.runs_on(target):
                reason = f"not for target {target} (targets: {', '.join(step.options.targets)})"
            plan.append((step, reason))
        return plan

    def check_needs(self, plan: Sequence[tuple[Step, str]], restore: Path | None) -> None:
        """Starting in the middle, every step that runs must find what its `needs=` names."""
        running = [step for step, reason in plan if not reason]
        if not running or running[0].index == self.runbook.steps[0].index:
            return
        if self.options.only_step:
            start = f"--step {self.options.only_step} runs only that step"
        elif self.options.from_step:
            start = f"--from {self.options.from_step} starts at step {running[0].index}"
        else:
            start = f"resuming starts at step {running[0].index} ({running[0].name})"
        available = set(self.params) | set(self.options.target.env)
        withheld: tuple[str, ...] = ()
        source = ""
        if self.options.state_from is not None:
            prior = self.options.state_from
            available |= {name for name, _ in prior.variables.values}
            withheld, source = prior.variables.withheld, prior.source
        if restore is not None:
            available |= _state_file_names(restore)
        missing = missing_needs(self.runbook, plan, available, withheld, source)
        if missing:
            root = self.options.cwd or Path.cwd()
            raise UsageError(_missing_message(self.runbook, start, missing, root))

    def prepare(self) -> tuple[list[tuple[Step, str]], Path | None]:
        """Everything decided before the kernel starts: the plan and the state to restore.
        Raises UsageError for a run that cannot start (wrong target, unknown step, missing needs)."""
        target = self.options.target
        if self.runbook.targets and target.name not in self.runbook.targets:
            raise UsageError(f"{self.runbook.id} does not run on target {target.name} "
                             f"(targets: {', '.join(self.runbook.targets)})")
        done: dict[int, StepStatus] = {}
        restore = None
        if self.options.previous is not None and self.options.record_dir:
            if self.options.state_from is not None:
                raise UsageError("--state-from starts a new run; a resumed run continues with its own state: "
                                 "give one of --resume and --state-from")
            done, _ = previous_outcome(self.options.previous)
            state = self.options.record_dir / STATE_FILE
            restore = state if state.is_file() else None
        plan = self.plan(done)
        self.check_needs(plan, restore)
        return plan, restore

    # -- run --------------------------------------------------------------------------------

    def run(self) -> RunResult:
        from opsbook.run.session import KernelSession  # starts kernels; not needed to plan

        target = self.options.target
        plan, restore = self.prepare()
        if target.confirm and any(not reason for _, reason in plan) and not self._confirmed_in_advance():
            if self.prompt is None:
                raise UsageError(f"target {target.name} asks for confirmation and there is no terminal to give it")
            if not self.prompt.confirm_target(target, None):
                raise UsageError(f"target {target.name} not confirmed; nothing ran")
        started = utc_now()
        operator = self.options.operator or operator_name()
        masked_params = tuple((k, self.masker.mask(v)) for k, v in self.params.items())
        notes = tuple(self.masker.mask(n) for n in (*self.options.notes, *self._state_from_notes()))
        self.emit(RunStarted(self.runbook.id, target.name, operator, started, masked_params, notes))
        stop_reason = ""
        quit_run = False
        carried = tempfile.TemporaryDirectory(prefix="opsbook-state-from-") \
            if self.options.state_from is not None else None
        try:
            if carried is not None:
                restore = self._write_state_from(Path(carried.name))
            session = KernelSession(env=self.kernel_env(), cwd=self.options.cwd or Path.cwd(),
                                    kernel_name=self.runbook.kernel, output_cap=self.options.output_cap,
                                    secret_names=tuple(self.secrets), restore_state=restore)
            self.session = session
            with session, _Interrupts(session) as interrupts:
                self.interrupts = interrupts
                for step, reason in plan:
                    if stop_reason:
                        self.finish(self._not_run(step, stop_reason))
                    elif reason:
                        self.finish(self._skipped(step, reason))
                    elif not self._step(step):
                        stop_reason = f"the run stopped at step {step.index} ({step.name})"
        except (_Quit, KeyboardInterrupt):
            quit_run = True
        except KernelDied as exc:
            stop_reason = f"the kernel died: {exc}"
        finally:
            if carried is not None:
                carried.cleanup()
        for step, _ in plan:
            if step.index not in self.results:
                self.finish(self._not_run(step, stop_reason or "opsbook was stopped before this step"))
        results = tuple(self.results[s.index] for s in self.runbook.steps)
        run = RunResult(runbook_id=self.runbook.id, target=target.name, status=self._status(results, quit_run),
                        started_at=started, finished_at=utc_now(), steps=results, operator=operator,
                        params=masked_params)
        self.emit(RunFinished(run))
        return run

    def _state_from_notes(self) -> tuple[str, ...]:
        prior = self.options.state_from
        if prior is None:
            return ()
        given = set(self.params)
        taken = [name for name, _ in prior.variables.values if name not in given]
        text = f"--state-from {prior.source}: started with " + (
            ", ".join(f"${n}" for n in taken) if taken else "no variables") + " from that run"
        if prior.variables.withheld:
            text += f" (withheld there as secret: {', '.join(prior.variables.withheld)})"
        return (text,)

    def _write_state_from(self, folder: Path) -> Path:
        """The state file the kernel starts from: the earlier run's variables; --param wins."""
        prior = self.options.state_from
        assert prior is not None
        exported = set(prior.variables.exported)
        values = {name: (value, name in exported) for name, value in prior.variables.values
                  if name not in self.params}
        path = folder / STATE_FILE
        path.write_text(variables_state(values), encoding="utf-8")
        return path

    def _take_state(self, variables: Mapping[str, tuple[str, bool]] | None) -> None:
        """Keep the variables a step left, as the record stores them: only those the runbook's steps
        set or need, and none whose value holds a secret in any form masking knows."""
        if variables is None:
            self._state, self._withheld = None, ()
            return
        withheld = sorted(name for name, (value, _) in variables.items() if self.masker.mask(value) != value)
        self._withheld = tuple(withheld)
        kept = sorted(name for name in variables if name in self.tracked and name not in self._withheld)
        self._state = ShellVariables(
            values=tuple((name, variables[name][0]) for name in kept),
            exported=tuple(name for name in kept if variables[name][1]),
            withheld=tuple(name for name in withheld if name in self.tracked))

    @staticmethod
    def _status(results: Sequence[StepResult], quit_run: bool) -> RunStatus:
        statuses = {r.status for r in results}
        if statuses & {StepStatus.FAILED, StepStatus.TIMED_OUT}:
            return RunStatus.FAILED
        if quit_run or StepStatus.INTERRUPTED in statuses:
            return RunStatus.INTERRUPTED
        if StepStatus.NOT_RUN in statuses:
            return RunStatus.FAILED
        return RunStatus.PASSED

    def _step(self, step: Step) -> bool:
        """Run one step (asking, confirming, retrying as its options say); False stops the run."""
        interactive = self.prompt is not None and not self.options.assume_yes
        if interactive:
            assert self.prompt is not None
            choice = self.prompt.before_step(step)
            if choice is Choice.QUIT:
                raise _Quit
            if choice is Choice.SKIP:
                self.finish(self._skipped(step, "skipped by the operator"))
                return True
        while True:
            result = self._attempts(step)
            if result.status in DONE:
                self._save_state()
                return True
            if result.status is not StepStatus.INTERRUPTED and self.options.target.sandbox:
                result = replace(result, reason=result.reason + self._sandbox_hint())
            self.finish(result)
            if self.prompt is None or (self.options.assume_yes and result.status is not StepStatus.INTERRUPTED):
                return False
            choice = self.prompt.after_failure(step, result)
            if choice is Choice.RETRY:
                continue
            if choice is Choice.SKIP:
                return True
            raise _Quit

    def _confirmed_in_advance(self) -> bool:
        """--confirm-target gave the target's own name: it counts as typed (said at the top of the record)."""
        return self.options.confirmed_target is not None and self.options.confirmed_target == self.options.target.name

    def _attempts(self, step: Step) -> StepResult:
        """Every attempt the step's retry option allows; returns the result (not yet emitted for failures)."""
        self._state, self._withheld = None, ()
        target = self.options.target
        if step.options.destructive and not target.sandbox and not self._confirmed_in_advance():
            if self.prompt is None:
                return self._refused(step, f"destructive step on target {target.name} needs the target name "
                                           "typed, and there is no terminal: refused")
            if not self.prompt.confirm_target(target, step):
                return self._refused(step, "destructive step not confirmed: the target name was not typed")
        retry = step.options.retry
        attempts = retry.attempts if retry else 1
        timeout = self.runbook.step_timeout(step)
        total = 0.0
        first_start = ""
        for attempt in range(1, attempts + 1):
            started = utc_now()
            first_start = first_start or started
            self.emit(StepStarted(step.index, step.name, step.source, attempt, started))
            t0 = time.monotonic()
            try:
                execution = self._execute(step, timeout)
            except KernelDied as exc:
                # The step ran and did not finish: a failure, never "not run". The run stops.
                self.finish(StepResult(index=step.index, name=step.name, command=step.source,
                                       status=StepStatus.FAILED, started_at=first_start,
                                       duration=total + time.monotonic() - t0, attempts=attempt,
                                       reason=self.masker.mask(f"the kernel died while this step ran: {exc}")))
                raise
            total += execution.duration
            self._take_state(execution.variables)
            status, reason = judge(step, execution, timeout)
            result = StepResult(index=step.index, name=step.name, command=step.source, status=status,
                                exit_status=execution.exit_status, started_at=first_start, duration=total,
                                stdout=self.masker.mask(execution.stdout), stderr=self.masker.mask(execution.stderr),
                                truncated=execution.truncated, attempts=attempt, reason=self.masker.mask(reason))
            if status in (StepStatus.PASSED, StepStatus.INTERRUPTED) or attempt == attempts:
                break
            assert retry is not None
            if not self._pause(retry.delay):
                result = replace(result, status=StepStatus.INTERRUPTED, reason="interrupted (Ctrl-C) between attempts")
                break
            total += retry.delay
        if attempts > 1 and result.status in (StepStatus.FAILED, StepStatus.TIMED_OUT):
            result = replace(result, reason=f"{result.reason} (after {result.attempts} attempts)")
        if result.status is StepStatus.PASSED:
            self.finish(result)
        return result

    def _execute(self, step: Step, timeout: int) -> Any:
        streams = {"stdout": StreamMasker(self.masker), "stderr": StreamMasker(self.masker)}

        def on_output(stream: str, text: str) -> None:
            shown = streams[stream].feed(text)
            if shown:
                self.emit(StepOutput(step.index, stream, shown))

        assert self.interrupts is not None
        self.interrupts.arm()
        try:
            execution = self.session.run(step.source, timeout=timeout, on_output=on_output)
        finally:
            self.interrupts.disarm()
        for stream, masker in streams.items():
            rest = masker.flush()
            if rest:
                self.emit(StepOutput(step.index, stream, rest))
        return execution

    def _pause(self, seconds: float) -> bool:
        """Sleep between attempts; False if Ctrl-C cut it short."""
        try:
            time.sleep(seconds)
            return True
        except KeyboardInterrupt:
            if self.prompt is None:
                raise
            return False

    def _save_state(self) -> None:
        if self.options.record_dir is not None and self.session is not None:
            self.session.save_state(self.options.record_dir / STATE_FILE, withhold=self._withheld)

    def _sandbox_hint(self) -> str:
        """When a step fails on the sandbox, say if the sandbox itself is down."""
        healthy = self.options.target.healthy
        if healthy is None:
            return ""
        try:
            if healthy():
                return ""
        except Exception:  # the hint must never hide the step's own failure
            return ""
        return " — the sandbox target is not running or not healthy: start it with `opsbook sandbox up`"

    def _skipped(self, step: Step, reason: str) -> StepResult:
        return StepResult(index=step.index, name=step.name, command=step.source, status=StepStatus.SKIPPED,
                          reason=reason)

    def _not_run(self, step: Step, reason: str) -> StepResult:
        return StepResult(index=step.index, name=step.name, command=step.source, status=StepStatus.NOT_RUN,
                          reason=reason)

    def _refused(self, step: Step, reason: str) -> StepResult:
        return StepResult(index=step.index, name=step.name, command=step.source, status=StepStatus.FAILED,
                          started_at=utc_now(), reason=reason)


_DECLARED = re.compile(r"^declare -[a-zA-Z-]+ ([A-Za-z_][A-Za-z0-9_]*)=", re.MULTILINE)


def _state_file_names(path: Path) -> set[str]:
    """The variables a saved state file (state.sh) sets."""
    try:
        return set(_DECLARED.findall(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return set()


def run_runbook(runbook: Runbook, options: RunOptions, listeners: Sequence[Listener] = (),
                prompt: Prompt | None = None) -> RunResult:
    """Run `runbook` as `options` say; listeners see every event; returns the whole result.

    With `prompt=None` nothing that needs a human happens: confirmations fail closed.
    When resuming, the parameters of the earlier run are reused (secret ones must be given again).
    The caller keeps the record: pass a `RecordWriter` among the listeners.
    """
    return Runner(runbook, _with_previous_params(runbook, options), listeners, prompt).run()


def check_run(runbook: Runbook, options: RunOptions) -> None:
    """Raise the UsageError `run_runbook` would raise before running anything (unknown or missing
    parameters, wrong target, unknown step, a needed variable nothing provides), so that the
    caller can refuse before it writes a record or takes a lock."""
    Runner(runbook, _with_previous_params(runbook, options), (), None).prepare()


def _with_previous_params(runbook: Runbook, options: RunOptions) -> RunOptions:
    """When resuming, the parameters of the earlier run (not the secret ones) unless given again."""
    if options.previous is None:
        return options
    _, previous = previous_outcome(options.previous)
    secret = {p.name for p in runbook.params if p.secret}
    declared = {p.name for p in runbook.params}
    reused = {k: v for k, v in previous.items() if k in declared and k not in secret and "***" not in v}
    return replace(options, params={**reused, **options.params})
