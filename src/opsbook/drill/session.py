"""One drill from start to end: reset, inject, watch while someone responds, heal, write the report.

`Drill.run()` never leaves the sandbox broken: whatever ends the drill (mitigation, `--timeout`,
Ctrl-C, an error), it heals the fault and resets the sandbox if it is still not healthy, then
writes the report, and only then returns (or re-raises a crash). A Ctrl-C while it heals is
noted and does not stop the healing.

The sandbox is watched from a thread (see `watch` for what the times mean); the main thread
shows progress and, with `--auto`, runs the matching runbook case itself once the fault has
shown (one of its alerts fired; its symptom, for a fault without alerts), as a paged person would.
"""

from __future__ import annotations

import queue
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from opsbook.drill.records import runs_since
from opsbook.drill.report import (
    Aftermath,
    AlertTimes,
    AutoRun,
    DrillReport,
    Outcome,
    RunRecord,
    iso,
    write_report,
)
from opsbook.drill.scenarios import LibraryCase
from opsbook.drill.watch import DrillWatch, Milestone, Observation
from opsbook.errors import OpsbookError
from opsbook.run.events import Event, Listener, RunStatus
from opsbook.run.targets import SANDBOX, Target
from opsbook.sandbox.faults import Fault
from opsbook.text import display_path

if TYPE_CHECKING:
    from opsbook.verify.verifier import RunFunction, VerifySandbox

POLL_SECONDS = 2.0
"""How often the sandbox is looked at: Prometheus, the fault's observe command, health, records."""

SETTLE_TIMEOUT = 120.0
"""Seconds to wait, after the reset, for alerts of the fault left firing by an earlier fault to resolve."""

AFTER_AUTO_RUN = 180.0
"""With --auto, seconds to wait after the run for mitigation (as verification waits for alerts to resolve)."""

AUTO_OPERATOR = "opsbook drill --auto"


@dataclass(frozen=True)
class DrillPlan:
    """What to drill and where."""

    root: Path  # project root: runbook steps run here
    fault: Fault
    project: str
    out: Path  # where report.json and report.md go (and the record of --auto)
    record_folders: tuple[Path, ...]  # folders of `opsbook run` records to count (.opsbook/runs)
    timeout: float = 1800.0  # seconds from the injection
    picked_at_random: bool = False
    auto: LibraryCase | None = None
    poll_seconds: float = POLL_SECONDS
    settle_timeout: float = SETTLE_TIMEOUT
    notes: tuple[str, ...] = ()

    @property
    def auto_record(self) -> Path:
        return self.out / "record"


@dataclass(frozen=True)
class DrillState:
    """Where a drill stands, for a progress line (seconds from the injection; None: not yet)."""

    elapsed: float
    detected: float | None
    first_step: float | None
    mitigated: float | None
    fault_alerts_firing: tuple[str, ...] = ()
    runs: int = 0


class DrillReporter(Protocol):
    """Progress of a drill: a terminal display or nothing. Phases never name the fault (a drill
    picked at random must not tell); milestones do, and the display decides what to show."""

    def phase(self, text: str) -> None: ...

    def injected(self, at: datetime) -> None: ...

    def milestone(self, milestone: Milestone, state: DrillState) -> None: ...

    def tick(self, state: DrillState) -> None: ...

    def listener(self) -> Listener | None: ...


class QuietDrillReporter:
    def phase(self, text: str) -> None:
        pass

    def injected(self, at: datetime) -> None:
        pass

    def milestone(self, milestone: Milestone, state: DrillState) -> None:
        pass

    def tick(self, state: DrillState) -> None:
        pass

    def listener(self) -> Listener | None:
        return None


class _Between:
    """The reporter's listener of the --auto run, with the drill's milestones shown between the run's
    events (the run holds the main thread, which alone talks to the reporter)."""

    def __init__(self, drill: Drill, listener: Listener | None) -> None:
        self.drill, self.listener = drill, listener

    def on_event(self, event: Event) -> None:
        self.drill._drain()
        if self.listener is not None:
            self.listener.on_event(event)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Drill:
    """One drill against one sandbox. Use `run()` once."""

    sandbox: VerifySandbox
    plan: DrillPlan
    reporter: DrillReporter = field(default_factory=QuietDrillReporter)
    run_function: RunFunction | None = None
    now: Callable[[], datetime] = _utc_now

    def __post_init__(self) -> None:
        self.watch: DrillWatch | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._milestones: queue.Queue[tuple[Milestone, DrillState]] = queue.Queue()
        self._monitor: threading.Thread | None = None
        self._auto_run: AutoRun | None = None
        self._late_interrupt = False
        self._monitor_problem = ""

    # -- the lifecycle ------------------------------------------------------------------------

    def run(self) -> DrillReport:
        """Reset, inject, watch until mitigated, `timeout` or Ctrl-C; heal; write the report; return it."""
        started = self.now()
        injected_at: datetime | None = None
        inject_attempted = False
        outcome = Outcome.NOT_MITIGATED
        error = ""
        crash: BaseException | None = None
        try:
            self.reporter.phase("resetting the sandbox")
            self.sandbox.reset()
            baseline = self._settle()
            self.reporter.phase("injecting the fault")
            inject_attempted = True
            self.sandbox.inject(self.plan.fault.name)
            injected_at = self.now()
            self.watch = DrillWatch(self.plan.fault.alerts, injected_at, baseline)
            self.reporter.injected(injected_at)
            self._start_monitor()
            deadline = time.monotonic() + self.plan.timeout
            if self.plan.auto is not None:
                self._auto(self.plan.auto, deadline)
                # Nobody else will fix what the run left: wait only as long as verification would.
                deadline = min(deadline, time.monotonic() + AFTER_AUTO_RUN)
            self._wait(deadline, lambda w: w.mitigated)
            outcome = Outcome.MITIGATED if self.watch.mitigated else Outcome.NOT_MITIGATED
        except KeyboardInterrupt:
            outcome = Outcome.INTERRUPTED
        except OpsbookError as exc:
            outcome, error = Outcome.ERROR, str(exc)
        except Exception as exc:  # noqa: BLE001 - heal and keep the report first, then let it through
            outcome, error, crash = Outcome.ERROR, f"{type(exc).__name__}: {exc}", exc
        ended = self.now()
        with self._shielded():
            self._stop_monitor()
            self._drain()
            self.reporter.phase("healing the sandbox")
            aftermath = self._heal(inject_attempted)
            report = self._report(started, injected_at, ended, outcome, error, aftermath)
            write_report(self.plan.out, report)
        if crash is not None:
            raise crash
        return report

    def _settle(self) -> frozenset[str]:
        """Alerts firing just before the injection; first wait (bounded) for the fault's own to resolve."""
        wanted = set(self.plan.fault.alerts)
        firing = self._firing() or frozenset()
        if firing & wanted:
            self.reporter.phase("waiting for alerts left over from before the reset to resolve")
            deadline = time.monotonic() + self.plan.settle_timeout
            while firing & wanted and time.monotonic() < deadline:
                time.sleep(min(1.0, self.plan.poll_seconds))
                firing = self._firing() or frozenset()
        return firing

    def _wait(self, deadline: float, until: Callable[[DrillWatch], bool]) -> bool:
        """Show progress until `until(watch)` holds (True) or the deadline passes (False)."""
        last_tick = 0.0
        while True:
            self._drain()
            with self._lock:
                assert self.watch is not None
                if until(self.watch):
                    return True
            if time.monotonic() >= deadline:
                return False
            if time.monotonic() - last_tick >= 1.0:
                self.reporter.tick(self._state())
                last_tick = time.monotonic()
            time.sleep(min(0.2, self.plan.poll_seconds))

    def _auto(self, case: LibraryCase, deadline: float) -> None:
        """Run the case's runbook as a paged person would: once the fault has shown."""
        fault = self.plan.fault
        self._auto_run = AutoRun(case.runbook.id, case.case.name, "not started", None)
        self.reporter.phase("waiting for the fault to show before starting the runbook"
                            if not fault.alerts else "waiting for an alert to fire before starting the runbook")
        shown = self._wait(deadline, lambda w: w.detected_at is not None or (
            not fault.alerts and w.symptom_at is not None))
        if not shown:
            return
        from opsbook.record.writer import RecordWriter

        run = self.run_function
        if run is None:
            from opsbook.run.runner import run_runbook

            run = run_runbook
        from opsbook.run.runner import RunOptions

        record_dir = self.plan.auto_record
        if record_dir.exists():
            shutil.rmtree(record_dir)  # an earlier drill's record here would be resumed, not replaced
        target = Target(name=SANDBOX, env=dict(self.sandbox.env()), secret_names=frozenset(self.sandbox.secret_names()),
                        confirm=False, sandbox=True, project=self.plan.project, healthy=self.sandbox.healthy)
        options = RunOptions(target=target, params=dict(case.case.params), assume_yes=True, ci=True,
                             record_dir=record_dir, cwd=self.plan.root, operator=AUTO_OPERATOR)
        self.reporter.phase(f"running {case.label}")
        with RecordWriter(record_dir, case.runbook) as record:
            result = run(case.runbook, options, [record, _Between(self, self.reporter.listener())], None)
        self._auto_run = AutoRun(case.runbook.id, case.case.name, result.status.value,
                                 display_path(record_dir, self.plan.root))
        if result.status is RunStatus.INTERRUPTED:
            raise KeyboardInterrupt  # the runner took the Ctrl-C to stop its step: the drill ends too

    # -- watching -----------------------------------------------------------------------------

    def _folders(self) -> list[Path]:
        folders = list(self.plan.record_folders)
        if self.plan.auto is not None:
            folders.append(self.plan.auto_record)
        return folders

    def _firing(self) -> frozenset[str] | None:
        try:
            return frozenset(self.sandbox.firing_alerts())
        except (OpsbookError, OSError):
            return None

    def _observe(self) -> Observation:
        assert self.watch is not None
        at = self.now()
        firing = self._firing()
        try:
            symptom: bool | None = bool(self.sandbox.observe(self.plan.fault.name))
        except (OpsbookError, OSError, TimeoutError):
            symptom = None
        except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired and kin: cannot tell this time
            symptom = None
        try:
            healthy = bool(self.sandbox.healthy())
        except OpsbookError:
            healthy = False
        runs = tuple(runs_since(self._folders(), self.watch.injected_at))
        return Observation(at, firing, symptom, healthy, runs)

    def _start_monitor(self) -> None:
        self._monitor = threading.Thread(target=self._watch_loop, name="opsbook-drill-watch", daemon=True)
        self._monitor.start()

    def _watch_loop(self) -> None:
        while not self._stop.is_set():
            try:
                observation = self._observe()
            except Exception as exc:  # noqa: BLE001 - one bad look must not blind the drill
                self._monitor_problem = f"{type(exc).__name__}: {exc}"
                observation = None
            if self._stop.is_set():
                break  # the drill ended while looking (a Ctrl-C may have killed the probes): not counted
            if observation is not None:
                with self._lock:
                    assert self.watch is not None
                    changes = self.watch.add(observation)
                    state = self._state_locked()
                for change in changes:
                    self._milestones.put((change, state))
            self._stop.wait(self.plan.poll_seconds)

    def _stop_monitor(self) -> None:
        self._stop.set()
        if self._monitor is not None:
            self._monitor.join(timeout=120)

    def _drain(self) -> None:
        while True:
            try:
                milestone, state = self._milestones.get_nowait()
            except queue.Empty:
                return
            self.reporter.milestone(milestone, state)

    def _state(self) -> DrillState:
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> DrillState:
        watch = self.watch
        assert watch is not None
        firing = tuple(a for a in watch.firing_now() if a in watch.fault_alerts)
        return DrillState(elapsed=watch.seconds(self.now()) or 0.0, detected=watch.seconds(watch.detected_at),
                          first_step=watch.seconds(watch.first_step_at), mitigated=watch.seconds(watch.mitigated_at),
                          fault_alerts_firing=firing, runs=len(watch.runs))

    # -- the end ------------------------------------------------------------------------------

    @contextmanager
    def _shielded(self) -> Iterator[None]:
        """Ctrl-C is noted, not obeyed, while the sandbox is healed and the report written."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def noted(signum: int, frame: FrameType | None) -> None:
            self._late_interrupt = True
            self.reporter.phase("still healing the sandbox: one moment")

        previous = signal.signal(signal.SIGINT, noted)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _heal(self, injected: bool) -> Aftermath:
        healed, reset, problems = True, False, []
        if injected:
            try:
                self.sandbox.heal(self.plan.fault.name)
            except OpsbookError as exc:
                healed = False
                problems.append(f"heal {self.plan.fault.name} failed: {exc}")
        try:
            healthy = bool(self.sandbox.healthy())
            if not healthy:
                self.reporter.phase("the sandbox is not healthy: resetting it")
                reset = True
                self.sandbox.reset()
                healthy = bool(self.sandbox.healthy())
        except OpsbookError as exc:
            healthy = False
            problems.append(f"reset failed: {exc}")
        return Aftermath(healed=healed, reset=reset, healthy=healthy, message="; ".join(problems))

    def _report(self, started: datetime, injected_at: datetime | None, ended: datetime, outcome: Outcome,
                error: str, aftermath: Aftermath) -> DrillReport:
        fault, plan = self.plan.fault, self.plan
        alerts: Sequence[AlertTimes] = ()
        records: Sequence[RunRecord] = ()
        times: dict[str, str | None] = {"detect": None, "first_step": None, "mitigate": None}
        notes = list(plan.notes)
        if self.watch is not None:
            watch = self.watch
            # Once more, now: a run that finished after the last look is reported as it ended.
            for run in runs_since(self._folders(), watch.injected_at):
                watch.runs[str(run.path)] = run
            times = {"detect": iso(watch.detected_at), "first_step": iso(watch.first_step_at),
                     "mitigate": iso(watch.mitigated_at)}
            alerts = [AlertTimes(a.name, a.fault_alert, iso(a.fired_at), iso(a.resolved_at)) for a in watch.alerts]
            records = [RunRecord(display_path(r.path, plan.root), r.runbook_id, r.operator, r.target, r.started_at,
                                 r.first_step_at, r.status)
                       for r in sorted(watch.runs.values(), key=lambda r: (r.started_at, str(r.path)))]
            already = sorted(a.name for a in watch.alerts if a.fired_at is None and a.fault_alert)
            if already:
                notes.append(f"{', '.join(already)} was already firing when the fault was injected: it does not "
                             f"count as detection")
        if self._monitor_problem:
            notes.append(f"watching the sandbox failed at least once: {self._monitor_problem}")
        if self._late_interrupt:
            notes.append("Ctrl-C while healing was noted and the healing finished")
        return DrillReport(
            scenario=fault.name, summary=fault.summary, symptom=fault.symptom, fault_alerts=fault.alerts,
            picked_at_random=plan.picked_at_random, automatic=plan.auto is not None, project=plan.project,
            started_at=iso(started) or "", injected_at=iso(injected_at), ended_at=iso(ended) or "",
            timeout=plan.timeout, outcome=outcome, times=times, alerts=tuple(alerts), records=tuple(records),
            auto=self._auto_run, aftermath=aftermath, error=error, poll_seconds=plan.poll_seconds,
            notes=tuple(notes))
