"""A drill's timeline, from observations of the sandbox taken every few seconds (pure: no I/O).

The three times, each from the moment the fault was injected:

- **detect**: the first observation in which one of the fault's alerts fires in Prometheus (an
  alert already firing when the fault went in does not count);
- **first runbook step**: the earliest step started by a counted `opsbook run` record (exact: it
  is the record's own timestamp, see `records`);
- **mitigate**: the first of two observations in a row in which the fault's symptom is gone (its
  `observe` command fails), the sandbox is healthy and none of the fault's alerts fires, once
  the fault had shown (its symptom was seen or an alert fired). Two in a row, so that one flaky
  probe (a command killed by the same Ctrl-C as the drill) does not end a drill early.

Alerts and symptom are polled: those times are good to the poll interval.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from opsbook.drill.records import RunSeen
from opsbook.text import parse_time


@dataclass(frozen=True)
class Observation:
    """What the sandbox looked like at `at`."""

    at: datetime
    firing: frozenset[str] | None  # alerts firing in Prometheus; None: Prometheus did not answer
    symptom: bool | None  # the fault's observe command: True while visible; None: cannot be observed
    healthy: bool
    runs: tuple[RunSeen, ...] = ()


@dataclass
class AlertSeen:
    """One alert's firing, from the first observation that saw it to the first that did not."""

    name: str
    fault_alert: bool  # one of the alerts the fault says it fires
    fired_at: datetime | None  # None: already firing when the fault was injected
    resolved_at: datetime | None = None


class Change(str, Enum):
    """What a new observation changed, for progress lines."""

    SYMPTOM = "symptom"
    DETECTED = "detected"
    FIRST_STEP = "first_step"
    MITIGATED = "mitigated"
    ALERT_FIRED = "alert_fired"
    ALERT_RESOLVED = "alert_resolved"
    RUN_SEEN = "run_seen"


@dataclass(frozen=True)
class Milestone:
    change: Change
    at: datetime
    detail: str = ""  # the alert's name, the record's path


@dataclass
class DrillWatch:
    """The timeline of one drill, built one observation at a time."""

    fault_alerts: tuple[str, ...]
    injected_at: datetime
    already_firing: frozenset[str] = frozenset()
    symptom_at: datetime | None = None
    detected_at: datetime | None = None
    first_step_at: datetime | None = None
    mitigated_at: datetime | None = None
    alerts: list[AlertSeen] = field(default_factory=list)
    runs: dict[str, RunSeen] = field(default_factory=dict)
    observations: int = 0
    last: Observation | None = None
    _candidate: datetime | None = None

    def __post_init__(self) -> None:
        for name in sorted(self.already_firing):
            self.alerts.append(AlertSeen(name, name in self.fault_alerts, fired_at=None))

    @property
    def mitigated(self) -> bool:
        return self.mitigated_at is not None

    @property
    def shown(self) -> bool:
        """The fault has shown itself: its symptom was seen or one of its alerts fired."""
        return self.symptom_at is not None or self.detected_at is not None

    def firing_now(self) -> list[str]:
        """The alerts firing at the last observation, in the order they fired."""
        return [a.name for a in self.alerts if a.resolved_at is None]

    def seconds(self, moment: datetime | None) -> float | None:
        return None if moment is None else max(0.0, (moment - self.injected_at).total_seconds())

    def add(self, obs: Observation) -> list[Milestone]:
        """Take in one observation; returns what it changed, in a stable order."""
        self.observations += 1
        self.last = obs
        changes: list[Milestone] = []
        if obs.symptom and self.symptom_at is None:
            self.symptom_at = obs.at
            changes.append(Milestone(Change.SYMPTOM, obs.at))
        if obs.firing is not None:
            changes += self._alerts(obs)
        changes += self._runs(obs.runs)
        changes += self._mitigation(obs)
        return changes

    def _alerts(self, obs: Observation) -> list[Milestone]:
        assert obs.firing is not None
        changes = []
        open_alerts = {a.name: a for a in self.alerts if a.resolved_at is None}
        for name, alert in open_alerts.items():
            if name not in obs.firing:
                alert.resolved_at = obs.at
                changes.append(Milestone(Change.ALERT_RESOLVED, obs.at, name))
        for name in sorted(obs.firing - set(open_alerts)):
            self.alerts.append(AlertSeen(name, name in self.fault_alerts, fired_at=obs.at))
            changes.append(Milestone(Change.ALERT_FIRED, obs.at, name))
            if name in self.fault_alerts and self.detected_at is None:
                self.detected_at = obs.at
                changes.append(Milestone(Change.DETECTED, obs.at, name))
        return changes

    def _runs(self, runs: Iterable[RunSeen]) -> list[Milestone]:
        changes = []
        for run in runs:
            key = str(run.path)
            if key not in self.runs:
                changes.append(Milestone(Change.RUN_SEEN, parse_time(run.started_at), key))
            self.runs[key] = run
            if run.first_step_at is None:
                continue
            when = parse_time(run.first_step_at)
            if self.first_step_at is None or when < self.first_step_at:
                first = self.first_step_at is None
                self.first_step_at = when
                if first:
                    changes.append(Milestone(Change.FIRST_STEP, when, key))
        return changes

    def _mitigation(self, obs: Observation) -> list[Milestone]:
        if self.mitigated or not self.shown:
            return []
        fault_firing = obs.firing is None or bool(obs.firing & set(self.fault_alerts))
        if obs.symptom is True or not obs.healthy or fault_firing:
            self._candidate = None
            return []
        if self._candidate is None:
            self._candidate = obs.at
            return []
        self.mitigated_at = self._candidate
        return [Milestone(Change.MITIGATED, self._candidate)]
