"""Run a runbook's steps in one kernel session and judge each one by its options.

Plan (which steps, in what order) → for each step: confirm, execute, judge, retry → events.
Every consumer (terminal view, record writer, JUnit) is a Listener; outputs are masked
before any listener sees them. The run stops at the first failing step; the steps after it
are recorded as not run, never as passed.
"""

from __future__ import annotations

import getpass
import os
import re
import signal
import threading
import time
from collections.abc import Mapping, Sequence
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
    StepFinished,
    StepOutput,
    StepResult,
    StepStarted,
    StepStatus,
    combined_output,
)
from opsbook.runbook.model import Runbook, Step
from opsbook.run.redact import Masker, StreamMasker
from opsbook.run.targets import Target
from opsbook.text import utc_now

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

    @property
    def resume(self) -> bool:
        return self.previous is not None


def resolve_params(runbook: Runbook, given: Mapping[str, str]) -> dict[str, str]:
    """Runbook defaults overridden by --param; unknown or missing parameters are usage errors."""
    declared = {p.name: p for p in runbook.params}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(declared) or "none"
        raise UsageError(f"unknown parameter {', '.join(unknown)} for {runbook.id} (declared: {known})")
    values = {name: p.default for name, p in declared.items() if p.default is not None}
    values.update(given)
    missing = [name for name in declared if name not in values]
    if missing:
        helps = "; ".join(f"{n}: {declared[n].help}" if declared[n].help else n for n in missing)
        raise UsageError(f"missing parameter {', '.join(missing)} ({helps}); give it with --param NAME=VALUE")
    return values


def secret_values(runbook: Runbook, target: Target, params: Mapping[str, str]) -> dict[str, str]:
    """Name → value of every secret this run knows: secret params and secret target variables."""
    secrets = dict(target.secrets)
    for p in runbook.params:
        if p.secret and params.get(p.name):
            secrets[p.name] = params[p.name]
    return secrets


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
        self.secrets = secret_values(runbook, options.target, self.params)
        self.masker = Masker(self.secrets)
        self.results: dict[int, StepResult] = {}
        self.session: Any = None
        self.interrupts: _Interrupts | None = None

    # -- plumbing ---------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener.on_event(event)

    def finish(self, result: StepResult) -> StepResult:
        self.results[result.index] = result
        self.emit(StepFinished(result))
        return result

    def kernel_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.options.target.env)
        env.update(self.params)
        env["OPSBOOK_TARGET"] = self.options.target.name
        env["OPSBOOK_RUNBOOK"] = self.runbook.id
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

    # -- run --------------------------------------------------------------------------------

    def run(self) -> RunResult:
        from opsbook.run.session import KernelSession  # starts kernels; not needed to plan

        target = self.options.target
        if self.runbook.targets and target.name not in self.runbook.targets:
            raise UsageError(f"{self.runbook.id} does not run on target {target.name} "
                             f"(targets: {', '.join(self.runbook.targets)})")
        done: dict[int, StepStatus] = {}
        restore = None
        if self.options.previous is not None and self.options.record_dir:
            done, _ = previous_outcome(self.options.previous)
            state = self.options.record_dir / STATE_FILE
            restore = state if state.is_file() else None
        plan = self.plan(done)
        if target.confirm and any(not reason for _, reason in plan):
            if self.prompt is None:
                raise UsageError(f"target {target.name} asks for confirmation and there is no terminal to give it")
            if not self.prompt.confirm_target(target, None):
                raise UsageError(f"target {target.name} not confirmed; nothing ran")
        started = utc_now()
        operator = self.options.operator or operator_name()
        masked_params = tuple((k, self.masker.mask(v)) for k, v in self.params.items())
        notes = tuple(self.masker.mask(n) for n in self.options.notes)
        self.emit(RunStarted(self.runbook.id, target.name, operator, started, masked_params, notes))
        stop_reason = ""
        quit_run = False
        try:
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
        for step, _ in plan:
            if step.index not in self.results:
                self.finish(self._not_run(step, stop_reason or "opsbook was stopped before this step"))
        results = tuple(self.results[s.index] for s in self.runbook.steps)
        run = RunResult(runbook_id=self.runbook.id, target=target.name, status=self._status(results, quit_run),
                        started_at=started, finished_at=utc_now(), steps=results, operator=operator,
                        params=masked_params)
        self.emit(RunFinished(run))
        return run

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

    def _attempts(self, step: Step) -> StepResult:
        """Every attempt the step's retry option allows; returns the result (not yet emitted for failures)."""
        target = self.options.target
        if step.options.destructive and not target.sandbox:
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
            self.session.save_state(self.options.record_dir / STATE_FILE)

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


def run_runbook(runbook: Runbook, options: RunOptions, listeners: Sequence[Listener] = (),
                prompt: Prompt | None = None) -> RunResult:
    """Run `runbook` as `options` say; listeners see every event; returns the whole result.

    With `prompt=None` nothing that needs a human happens: confirmations fail closed.
    When resuming, the parameters of the earlier run are reused (secret ones must be given again).
    The caller keeps the record: pass a `RecordWriter` among the listeners.
    """
    if options.previous is not None:
        _, previous = previous_outcome(options.previous)
        secret = {p.name for p in runbook.params if p.secret}
        declared = {p.name for p in runbook.params}
        reused = {k: v for k, v in previous.items() if k in declared and k not in secret and "***" not in v}
        options = replace(options, params={**reused, **options.params})
    return Runner(runbook, options, listeners, prompt).run()
