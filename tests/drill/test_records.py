"""Which `opsbook run` records a drill counts, read from records written by the project's RecordWriter."""

from __future__ import annotations

import os
from pathlib import Path

from opsbook.drill.records import runs_since
from opsbook.run.events import RunStatus
from tests.drill.support import T0, app_runbook, at, person_run, stamp, write_record
from tests.support.transcripts import RunBuilder


def test_runs_on_the_sandbox_started_after_the_injection_count_others_do_not(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_record(runs / "before", *person_run(at(-60)))
    write_record(runs / "staging", *person_run(at(5), target="staging"))
    write_record(runs / "after", *person_run(at(40), operator="bob"))
    (runs / "not-a-record").mkdir()
    (runs / "damaged").mkdir()
    (runs / "damaged" / "events.jsonl").write_text("{not json\n{}\n")
    found = runs_since([runs], T0)
    assert [(r.path.name, r.operator, r.status) for r in found] == [("after", "bob", "passed")]
    assert found[0].started_at == stamp(at(40))
    assert found[0].first_step_at == stamp(at(41))  # the first step_started, a second after the start


def test_a_skipped_step_is_no_first_step_and_a_run_still_going_is_running(tmp_path: Path) -> None:
    book = app_runbook()
    run = RunBuilder(book, at(10).isoformat()).start()
    run.skip("find-cause", "skipped by the operator")
    write_record(tmp_path / "r1", book, list(run.events))
    (seen,) = runs_since([tmp_path], T0)
    assert seen.first_step_at is None and seen.status == "running"
    run.wait(3).step("fix-cause", finish=False)
    write_record(tmp_path / "r2", book, list(run.events))
    seen = next(r for r in runs_since([tmp_path], T0) if r.path.name == "r2")
    assert seen.first_step_at == stamp(at(13))


def test_a_record_resumed_after_the_injection_counts_from_its_new_session(tmp_path: Path) -> None:
    book = app_runbook()
    run = RunBuilder(book, at(-600).isoformat()).start(operator="alice")
    run.step("find-cause", stdout="x\n").finish(RunStatus.FAILED)
    run.now = at(30)
    run.start(operator="bob").step("fix-cause").step("confirm").finish(RunStatus.PASSED)
    record = write_record(tmp_path / "resumed", book, list(run.events))
    (seen,) = runs_since([tmp_path], T0)
    assert (seen.operator, seen.started_at, seen.first_step_at, seen.status) == \
        ("bob", stamp(at(30)), stamp(at(30)), "passed")
    assert runs_since([record], T0) == [seen]  # a record folder itself can be watched (--auto's)


def test_record_folders_untouched_since_well_before_the_injection_are_not_read(tmp_path: Path) -> None:
    record = write_record(tmp_path / "old", *person_run(at(5)))
    old = T0.timestamp() - 3600
    for path in [record, *record.iterdir()]:
        os.utime(path, (old, old))
    assert runs_since([tmp_path], T0) == []
    assert runs_since([tmp_path / "missing"], T0) == []
