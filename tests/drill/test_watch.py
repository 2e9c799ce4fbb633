"""The drill's timeline from observations: what counts as detected, first step and mitigated."""

from __future__ import annotations

from pathlib import Path

from opsbook.drill.records import RunSeen
from opsbook.drill.watch import Change, DrillWatch, Observation
from tests.drill.support import T0, at, stamp


def obs(seconds: float, firing: set[str] | frozenset[str] | None = frozenset(), symptom: bool | None = True,
        healthy: bool = False, runs: tuple[RunSeen, ...] = ()) -> Observation:
    return Observation(at(seconds), None if firing is None else frozenset(firing), symptom, healthy, runs)


def watch(**kwargs: object) -> DrillWatch:
    return DrillWatch(("ApplicationDown",), T0, **kwargs)  # type: ignore[arg-type]


def test_detected_when_the_first_of_the_faults_alerts_fires_not_another_alert() -> None:
    w = watch()
    w.add(obs(2, {"HighErrorRate"}))
    assert w.detected_at is None
    changes = w.add(obs(4, {"HighErrorRate", "ApplicationDown"}))
    assert w.detected_at == at(4) and w.seconds(w.detected_at) == 4.0
    assert [c.change for c in changes] == [Change.ALERT_FIRED, Change.DETECTED]
    assert changes[1].detail == "ApplicationDown"


def test_an_alert_already_firing_at_the_injection_is_not_detection_until_it_fires_again() -> None:
    w = watch(already_firing=frozenset({"ApplicationDown"}))
    w.add(obs(2, {"ApplicationDown"}))
    assert w.detected_at is None
    w.add(obs(4, set()))
    w.add(obs(6, {"ApplicationDown"}))
    assert w.detected_at == at(6)
    assert [(a.fired_at, a.resolved_at) for a in w.alerts] == [(None, at(4)), (at(6), None)]


def test_mitigated_at_the_first_of_two_good_looks_in_a_row() -> None:
    w = watch()
    w.add(obs(2, {"ApplicationDown"}))
    w.add(obs(4, set(), symptom=False, healthy=True))   # one good look: a candidate
    w.add(obs(6, set(), symptom=True, healthy=True))    # the symptom is back: not mitigated
    assert not w.mitigated
    w.add(obs(8, set(), symptom=False, healthy=True))
    changes = w.add(obs(10, set(), symptom=False, healthy=True))
    assert w.mitigated_at == at(8)
    assert [c.change for c in changes] == [Change.MITIGATED]


def test_not_mitigated_while_unhealthy_an_alert_fires_or_prometheus_does_not_answer() -> None:
    w = watch()
    w.add(obs(1, {"ApplicationDown"}))
    for look in (obs(2, set(), symptom=False, healthy=False), obs(3, {"ApplicationDown"}, symptom=False, healthy=True),
                 obs(4, None, symptom=False, healthy=True)):
        w.add(look)
        w.add(look)
    assert not w.mitigated


def test_nothing_is_mitigated_before_the_fault_showed() -> None:
    """Right after the injection the symptom may not show yet: a healthy look then proves nothing."""
    w = watch()
    w.add(obs(1, set(), symptom=False, healthy=True))
    w.add(obs(2, set(), symptom=False, healthy=True))
    assert not w.mitigated
    w.add(obs(3, set(), symptom=True))
    w.add(obs(4, set(), symptom=False, healthy=True))
    w.add(obs(5, set(), symptom=False, healthy=True))
    assert w.symptom_at == at(3) and w.mitigated_at == at(4) and w.detected_at is None


def test_first_step_is_the_earliest_step_of_any_counted_run() -> None:
    w = watch()
    late = RunSeen(Path("b"), "incidents/x", "bob", "sandbox", stamp(at(20)), stamp(at(25)), "running")
    early = RunSeen(Path("a"), "incidents/y", "alice", "sandbox", stamp(at(30)), stamp(at(22)), "running")
    started = RunSeen(Path("c"), "incidents/z", "carol", "sandbox", stamp(at(10)), None, "running")
    changes = w.add(obs(26, symptom=None, runs=(started, late)))
    assert w.first_step_at == at(25)
    assert [c.change for c in changes] == [Change.RUN_SEEN, Change.RUN_SEEN, Change.FIRST_STEP]
    w.add(obs(32, runs=(started, late, early)))
    assert w.first_step_at == at(22) and len(w.runs) == 3
