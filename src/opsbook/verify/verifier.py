"""Verification: prove each runbook against the sandbox — scenario, diagnosis, alerts, steps, postconditions.

For each verification case of a runbook:

1. reset the sandbox;
2. if the runbook names a scenario: run its diagnose steps on the healthy sandbox (the
   control: a diagnosis that also passes there detects nothing), inject the fault, wait until
   its symptom is visible and the alerts the case names (default: the runbook's) are firing;
3. run every step non-interactively on the sandbox target (ci="skip" steps are recorded as
   skipped with their reason), with every step option enforced by the runner, and measure the
   wall time from the start of the first step to the end of the last (the case's `within:`
   limit, if it has one, fails a case that took longer);
4. check the postconditions: the sandbox is healthy again, the fault's symptom is gone and the
   case's alerts resolved. A remediation that does nothing fails here even when the runbook's
   own checks are lenient: the fault stays until something removes it.

Each case yields a `CaseResult`; a failing case or runbook never stops the others. The
lifecycle around it (choosing runbooks, the sandbox, writing results) is `suite.VerifySuite`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from opsbook.errors import OpsbookError
from opsbook.record.writer import RecordWriter
from opsbook.run.events import Event, Listener, RunResult, RunStatus, StepFinished, StepStarted, StepStatus
from opsbook.run.runner import RunOptions
from opsbook.run.targets import SANDBOX, Target
from opsbook.runbook.model import Role, Runbook, Step, VerifyCase
from opsbook.text import display_path, parse_time, utc_now
from opsbook.verify.result import (
    AlertOutcome,
    CaseResult,
    Check,
    Phase,
    RunbookVerification,
    explain_step_failure,
    over_limit_message,
    seconds,
    within_check_name,
)


class VerifySandbox(Protocol):
    """What verification needs from the compose sandbox (`opsbook.sandbox.Sandbox`)."""

    def reset(self) -> object: ...

    def healthy(self) -> bool: ...

    def env(self) -> dict[str, str]: ...

    def secret_names(self) -> Iterable[str]: ...

    def inject(self, fault: str) -> object: ...

    def observe(self, fault: str) -> bool: ...

    def heal(self, fault: str | None = None) -> object: ...

    def firing_alerts(self) -> set[str]: ...

    def wait_alerts(self, names: Iterable[str], *, firing: bool, timeout: float) -> set[str]: ...


RunFunction = Callable[..., RunResult]
"""`opsbook.run.runner.run_runbook`, or a stand-in with the same signature."""


class Reporter(Protocol):
    """Progress of a verification: a terminal display, pytest's report, or nothing."""

    def runbook_started(self, runbook: Runbook) -> None: ...

    def phase(self, runbook: Runbook, case: str, text: str) -> None: ...

    def listener(self, runbook: Runbook, case: str) -> Listener | None: ...

    def runbook_finished(self, verification: RunbookVerification) -> None: ...


class QuietReporter:
    """Reports nothing."""

    def runbook_started(self, runbook: Runbook) -> None:
        pass

    def phase(self, runbook: Runbook, case: str, text: str) -> None:
        pass

    def listener(self, runbook: Runbook, case: str) -> Listener | None:
        return None

    def runbook_finished(self, verification: RunbookVerification) -> None:
        pass


@dataclass(frozen=True)
class VerifySettings:
    """Where verification runs and how long it waits for the sandbox to react."""

    root: Path  # project root: steps run here (they call scripts/...)
    out: Path | None = None  # where records and executed notebooks go; None: nowhere
    project: str | None = None  # sandbox compose project
    alert_fire_timeout: float = 180.0  # Prometheus needs scrape + evaluation + the rule's `for:`
    alert_resolve_timeout: float = 180.0
    healthy_timeout: float = 90.0
    symptom_timeout: float = 30.0  # for a fault's symptom to show after injection, and to go after the runbook
    control: bool = True  # run the diagnose steps on the healthy sandbox first


def diagnose_steps(runbook: Runbook) -> list[Step]:
    """The steps verification runs on the sandbox that confirm the problem."""
    return [s for s in runbook.steps
            if s.options.role is Role.DIAGNOSE and s.runs_on(SANDBOX) and s.options.ci != "skip"]


def control_runbook(runbook: Runbook) -> Runbook:
    """The runbook cut to what precedes its last diagnose step, minus changes, without retries.

    Steps without a role before the diagnosis usually set things up (variables, a working
    directory); remediate/rollback/verify steps are left out so the control changes nothing.
    Retries are dropped: the control only needs to see the diagnosis fail once.
    """
    last = max(s.index for s in diagnose_steps(runbook))
    cells = []
    for cell in runbook.cells:
        if isinstance(cell, Step):
            if cell.index > last or cell.options.role not in (None, Role.DIAGNOSE):
                continue
            cell = replace(cell, options=replace(cell.options, retry=None))
        cells.append(cell)
    return replace(runbook, cells=tuple(cells))


def case_alerts(runbook: Runbook, case: VerifyCase) -> tuple[str, ...]:
    """The alerts a case proves: its own `alerts:`, else the runbook's."""
    return runbook.alerts if case.alerts is None else case.alerts


class StepClock:
    """A run listener that times the steps: from the first step's start to the last one's end."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.first_start: float | None = None
        self.last_end: float | None = None

    def on_event(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            if self.first_start is None:
                self.first_start = self.clock()
        elif isinstance(event, StepFinished) and event.result.status not in (StepStatus.SKIPPED, StepStatus.NOT_RUN):
            self.last_end = self.clock()

    def elapsed(self, run: RunResult) -> float | None:
        """Seconds the steps took; from the run's own step times when no event was seen."""
        if self.first_start is not None and self.last_end is not None:
            return max(self.last_end - self.first_start, 0.0)
        return steps_wall_time(run)


def steps_wall_time(run: RunResult) -> float | None:
    """From the recorded start of the first step that ran to the end of the last (None: none ran)."""
    spans = []
    for step in run.steps:
        if step.started_at and step.status not in (StepStatus.SKIPPED, StepStatus.NOT_RUN):
            try:
                start = parse_time(step.started_at).timestamp()
            except ValueError:
                continue
            spans.append((start, start + step.duration))
    if not spans:
        return None
    return max(end for _, end in spans) - min(start for start, _ in spans)


def _names(steps: Iterable[Step]) -> str:
    return ", ".join(repr(s.name) for s in steps)


class Verifier:
    """Verifies runbooks one case at a time against one sandbox."""

    def __init__(self, sandbox: VerifySandbox, settings: VerifySettings, run: RunFunction | None = None,
                 reporter: Reporter | None = None, commit: str | None = None) -> None:
        self.sandbox = sandbox
        self.settings = settings
        self.reporter: Reporter = reporter or QuietReporter()
        self.commit = commit
        if run is None:
            from opsbook.run.runner import run_runbook

            run = run_runbook
        self.run = run

    # -- public -----------------------------------------------------------------------------

    def verify(self, runbook: Runbook) -> RunbookVerification:
        """Every verification case of the runbook; never raises for a failing runbook."""
        self.reporter.runbook_started(runbook)
        started, t0 = utc_now(), time.monotonic()
        cases = tuple(self.verify_case(runbook, case) for case in runbook.verify)
        verification = RunbookVerification(
            runbook_id=runbook.id, title=runbook.title, path=display_path(runbook.path, self.settings.root),
            started_at=started, duration=time.monotonic() - t0, cases=cases, commit=self.commit)
        self.reporter.runbook_finished(verification)
        return verification

    def verify_case(self, runbook: Runbook, case: VerifyCase) -> CaseResult:
        scenario = case.scenario or runbook.scenario
        started, t0 = utc_now(), time.monotonic()
        checks: list[Check] = []
        alerts: dict[str, AlertOutcome] = {}
        run: RunResult | None = None
        step_failure = ""
        notebook = None
        error = ""
        steps_duration: float | None = None

        def result() -> CaseResult:
            params = run.params if run is not None else self._masked_params(runbook, case)
            return CaseResult(case=case.name, scenario=scenario, started_at=started,
                              duration=time.monotonic() - t0, params=params, run=run, checks=tuple(checks),
                              alerts=tuple(alerts.values()), notebook=notebook, error=error,
                              step_failure=step_failure, steps_duration=steps_duration, within=case.within)

        try:
            self._phase(runbook, case, "reset sandbox")
            self.sandbox.reset()
            target = self._target()
            if scenario:
                if not self._before(runbook, case, scenario, target, checks, alerts):
                    return result()
            self._phase(runbook, case, "steps")
            clock = StepClock()
            run = self._run(runbook, case, target, clock)
            steps_duration = clock.elapsed(run)
            notebook = self._keep_notebook(runbook, case)
            if run.status is RunStatus.PASSED and case.within is not None and steps_duration is not None:
                checks.append(self._within_check(case, case.within, steps_duration))
            if run.status is not RunStatus.PASSED:
                step_failure = self._explain(runbook, run, scenario)
                for name in case_alerts(runbook, case) if scenario else ():
                    alerts[name] = replace(alerts[name], resolved=False) if name in alerts else \
                        AlertOutcome(name, fired=False, resolved=False)
                return result()
            self._after(runbook, case, scenario, checks, alerts)
            return result()
        except OpsbookError as exc:
            error = f"verification could not complete: {exc}"
            return result()
        except Exception as exc:  # noqa: BLE001 - one runbook's crash must not stop the others
            error = f"verification crashed: {type(exc).__name__}: {exc}"
            return result()
        finally:
            if scenario:
                try:
                    self.sandbox.heal(scenario)
                except OpsbookError:
                    pass  # the next case starts with a reset anyway

    # -- phases -----------------------------------------------------------------------------

    def _before(self, runbook: Runbook, case: VerifyCase, scenario: str, target: Target,
                checks: list[Check], alerts: dict[str, AlertOutcome]) -> bool:
        """Control, injection and alerts; False if the steps must not run."""
        diagnosis = diagnose_steps(runbook)
        name = f"diagnosis detects {scenario}"
        if not diagnosis:
            checks.append(Check(name, Phase.BEFORE, False, message=(
                f"runbook names scenario {scenario!r} but no step has role=\"diagnose\": mark the steps "
                f"that confirm the problem with role=\"diagnose\" so verification can prove they detect it")))
            return False
        if self.settings.control:
            self._phase(runbook, case, "control: diagnosis on the healthy sandbox")
            t0 = time.monotonic()
            control = self.run(control_runbook(runbook),
                               self._options(target, case, record_dir=None), [], None)
            checks.append(self._control_check(name, scenario, diagnosis, control, time.monotonic() - t0))
            if not checks[-1].passed:
                return False
        self._phase(runbook, case, f"inject {scenario}")
        t0 = time.monotonic()
        try:
            self.sandbox.inject(scenario)
        except OpsbookError as exc:
            checks.append(Check(f"inject scenario {scenario}", Phase.BEFORE, False,
                                message=f"scenario {scenario!r} could not be injected: {exc}",
                                duration=time.monotonic() - t0))
            return False
        checks.append(Check(f"inject scenario {scenario}", Phase.BEFORE, True, duration=time.monotonic() - t0))
        self._phase(runbook, case, f"wait for the symptom of {scenario}")
        t0 = time.monotonic()
        visible = self._symptom(scenario, visible=True)
        if visible is not None:
            checks.append(Check(f"symptom of {scenario} visible", Phase.BEFORE, visible, duration=time.monotonic() - t0,
                                message="" if visible else (
                                    f"scenario {scenario!r} was injected but its symptom did not show within "
                                    f"{self.settings.symptom_timeout:.0f} s: the fault is broken, not the runbook. "
                                    f"Check `opsbook sandbox fault {scenario}` and its `observe:` command")))
            if not visible:
                return False
        expected = case_alerts(runbook, case)
        if expected:
            self._phase(runbook, case, f"wait for {', '.join(expected)} to fire")
            t0 = time.monotonic()
            self.sandbox.wait_alerts(expected, firing=True, timeout=self.settings.alert_fire_timeout)
            firing = self.sandbox.firing_alerts()
            waited = time.monotonic() - t0
            for alert in expected:
                fired = alert in firing
                alerts[alert] = AlertOutcome(alert, fired=fired, resolved=False)
                checks.append(Check(f"alert {alert} fires", Phase.BEFORE, fired, duration=waited,
                                    detail=f"firing: {', '.join(sorted(firing)) or 'none'}",
                                    message="" if fired else (
                                        f"alert {alert} did not fire within {self.settings.alert_fire_timeout:.0f} s "
                                        f"of injecting scenario {scenario!r}: the runbook says it answers {alert}, "
                                        f"but the fault does not trigger it. Fix the rule in "
                                        f"monitoring/prometheus/alerts/ or the case's `alerts:` list")))
        return True

    def _symptom(self, scenario: str, *, visible: bool) -> bool | None:
        """Wait until the fault's symptom is (or is no longer) visible; None if it cannot be observed."""
        observe = getattr(self.sandbox, "observe", None)
        if observe is None:
            return None
        deadline = time.monotonic() + self.settings.symptom_timeout
        while True:
            try:
                if observe(scenario) == visible:
                    return True
            except OpsbookError:
                return None  # the fault has no observe command
            if time.monotonic() >= deadline:
                return False
            time.sleep(1)

    @staticmethod
    def _within_check(case: VerifyCase, within: float, measured: float) -> Check:
        over = measured > within
        return Check(within_check_name(within), Phase.AFTER, not over, duration=measured,
                     message=over_limit_message(case.name, measured, within) if over else "",
                     detail=f"the steps took {seconds(measured)}, from the start of the first to the end of the "
                            f"last (the fault's injection and the sandbox reset are not counted)")

    def _control_check(self, name: str, scenario: str, diagnosis: Sequence[Step], control: RunResult,
                       duration: float) -> Check:
        failed = control.failed_step
        by_name = {s.name: s for s in diagnosis}
        if failed is None:
            return Check(name, Phase.BEFORE, False, duration=duration, message=(
                f"diagnosis does not detect scenario {scenario!r}: the diagnose steps ({_names(diagnosis)}) "
                f"also pass on a healthy sandbox, so their passing proves nothing. Give at least one a "
                f"condition only the fault meets: output=\"regex\", expect=N, or a test that exits non-zero"),
                detail="\n".join(f"{s.name}: {s.status.value}\n{s.output}" for s in control.steps))
        if failed.name in by_name:
            return Check(name, Phase.BEFORE, True, duration=duration,
                         detail=f"on the healthy sandbox, {failed.name!r} fails as it should: {failed.reason}")
        return Check(name, Phase.BEFORE, False, duration=duration, message=(
            f"step {failed.name!r} failed on a healthy sandbox before the diagnosis ran ({failed.reason}); "
            f"steps before a diagnose step must work whether or not the fault is present"),
            detail=failed.output)

    def _after(self, runbook: Runbook, case: VerifyCase, scenario: str | None, checks: list[Check],
               alerts: dict[str, AlertOutcome]) -> None:
        fixers = [s for s in runbook.steps if s.options.role in (Role.REMEDIATE, Role.ROLLBACK)]
        fixer = f"remediation ({_names(fixers)})" if fixers else "runbook (it has no remediate step)"
        self._phase(runbook, case, "postcondition: sandbox healthy")
        t0 = time.monotonic()
        healthy = self._wait_healthy()
        checks.append(Check("sandbox healthy after the runbook", Phase.AFTER, healthy,
                            duration=time.monotonic() - t0, message="" if healthy else (
                                f"the runbook passed but the sandbox is not healthy "
                                f"{self.settings.healthy_timeout:.0f} s later: the {fixer} did not fix "
                                f"{'scenario ' + repr(scenario) if scenario else 'what the steps changed'}; "
                                f"check what `opsbook sandbox status` shows unhealthy and add the missing "
                                f"remediation")))
        if not scenario:
            return
        self._phase(runbook, case, f"postcondition: the symptom of {scenario} is gone")
        t0 = time.monotonic()
        gone = self._symptom(scenario, visible=False)
        if gone is not None:
            checks.append(Check(f"symptom of {scenario} gone", Phase.AFTER, gone, duration=time.monotonic() - t0,
                                message="" if gone else (
                                    f"the runbook passed but the symptom of scenario {scenario!r} is still there "
                                    f"{self.settings.symptom_timeout:.0f} s later: the {fixer} did not fix it "
                                    f"(`opsbook sandbox fault --list` describes the symptom). Make the remediation remove "
                                    f"the cause, and a verify step check that it is gone")))
        expected = case_alerts(runbook, case)
        if not expected:
            return
        self._phase(runbook, case, f"postcondition: {', '.join(expected)} resolved")
        t0 = time.monotonic()
        self.sandbox.wait_alerts(expected, firing=False, timeout=self.settings.alert_resolve_timeout)
        firing = self.sandbox.firing_alerts()
        waited = time.monotonic() - t0
        for alert in expected:
            resolved = alert not in firing
            fired = alerts[alert].fired if alert in alerts else False
            alerts[alert] = AlertOutcome(alert, fired=fired, resolved=resolved)
            checks.append(Check(f"alert {alert} resolves", Phase.AFTER, resolved, duration=waited,
                                detail=f"still firing: {', '.join(sorted(firing)) or 'none'}",
                                message="" if resolved else (
                                    f"alert {alert} still firing {self.settings.alert_resolve_timeout:.0f} s after "
                                    f"the last step: the {fixer} did not remove its cause. Make the runbook end "
                                    f"only when the condition behind {alert} is gone (a verify step that waits "
                                    f"for it with retry=)")))

    # -- plumbing ---------------------------------------------------------------------------

    def _phase(self, runbook: Runbook, case: VerifyCase, text: str) -> None:
        self.reporter.phase(runbook, case.name, text)

    def _target(self) -> Target:
        return Target(name=SANDBOX, env=dict(self.sandbox.env()), secret_names=frozenset(self.sandbox.secret_names()),
                      confirm=False, sandbox=True, project=self.settings.project, healthy=self.sandbox.healthy)

    def _options(self, target: Target, case: VerifyCase, record_dir: Path | None) -> RunOptions:
        return RunOptions(target=target, params=dict(case.params), assume_yes=True, ci=True, record_dir=record_dir,
                          cwd=self.settings.root, operator="opsbook verify")

    def _record_dir(self, runbook: Runbook, case: VerifyCase) -> Path | None:
        if self.settings.out is None:
            return None
        path = self.settings.out / "records" / runbook.id / case.name
        if path.exists():
            shutil.rmtree(path)  # a record from an earlier verification would be resumed, not replaced
        return path

    def _run(self, runbook: Runbook, case: VerifyCase, target: Target, clock: Listener) -> RunResult:
        listener = self.reporter.listener(runbook, case.name)
        listeners = [clock, *([listener] if listener else [])]
        options = self._options(target, case, self._record_dir(runbook, case))
        if options.record_dir is None:
            return self.run(runbook, options, listeners, None)
        with RecordWriter(options.record_dir, runbook) as record:
            return self.run(runbook, options, [record, *listeners], None)

    def _keep_notebook(self, runbook: Runbook, case: VerifyCase) -> str | None:
        if self.settings.out is None:
            return None
        executed = self.settings.out / "records" / runbook.id / case.name / "executed.ipynb"
        if not executed.is_file():
            return None
        suffix = "" if len(runbook.verify) == 1 else f"--{case.name}"
        target = self.settings.out / "notebooks" / f"{runbook.id}{suffix}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(executed, target)
        return target.relative_to(self.settings.out).as_posix()

    def _explain(self, runbook: Runbook, run: RunResult, scenario: str | None) -> str:
        failed = run.failed_step
        if failed is None:
            return f"the run ended {run.status.value} before every step ran"
        step = runbook.step(failed.name)
        text = explain_step_failure(display_path(runbook.path, self.settings.root), step.line, failed,
                                    runbook.step_timeout(step))
        if scenario and step.options.role is Role.DIAGNOSE and failed.status is StepStatus.FAILED:
            text = (f"diagnosis did not detect scenario {scenario!r}: {text}\n"
                    f"  (the fault is injected; this diagnose step should see it)")
        return text

    def _masked_params(self, runbook: Runbook, case: VerifyCase) -> tuple[tuple[str, str], ...]:
        secret = {p.name for p in runbook.params if p.secret}
        return tuple((k, "***" if k in secret else v) for k, v in case.params)

    def _wait_healthy(self) -> bool:
        deadline = time.monotonic() + self.settings.healthy_timeout
        while True:
            try:
                if self.sandbox.healthy():
                    return True
            except OpsbookError:
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(2)
