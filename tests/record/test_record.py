"""Run records: the event log, the executed notebook and the record directory on disk."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest

import opsbook
from opsbook.run.events import (
    RunFinished,
    RunResult,
    RunStarted,
    RunStatus,
    StepFinished,
    StepOutput,
    StepResult,
    StepStarted,
    StepStatus,
)
from opsbook.run.redact import Masker
from opsbook.record.eventlog import (
    RecordError,
    TruncatedRecordWarning,
    append_events,
    event_from_json,
    event_to_json,
    read_event_log,
    read_events,
)
from opsbook.record.notebook import build_notebook, notebook_text
from opsbook.record.writer import (
    RecordWriter,
    default_record_dir,
    load_record,
    render_record,
)

from tests.support import subprocess_env
from tests.support.transcripts import CASES, RunBuilder, make_runbook, queue_runbook

# --- event log -----------------------------------------------------------------------

FAILED = StepResult(
    index=2, name="restart-worker", command="docker compose restart worker",
    status=StepStatus.TIMED_OUT, exit_status=None, started_at="2026-11-26T20:15:01Z",
    duration=60.25, stdout="restarting\n", stderr="Error: ü timeout\n", truncated=True,
    attempts=3, reason="timed out after 60 s",
)
EVERY_EVENT = [
    RunStarted("incidents/q", "staging", "alice", "2026-11-26T20:15:00Z", (("QUEUE", "default"), ("PW", "***"))),
    StepStarted(2, "restart-worker", "docker compose restart worker", 3, "2026-11-26T20:15:01Z"),
    StepOutput(2, "stderr", "Error: ü timeout\n"),
    StepFinished(FAILED),
    RunFinished(
        RunResult(
            "incidents/q", "staging", RunStatus.FAILED, "2026-11-26T20:15:00Z",
            "2026-11-26T20:16:01Z", (FAILED,), "alice", (("QUEUE", "default"),),
        )
    ),
]


@pytest.mark.parametrize("event", EVERY_EVENT, ids=lambda e: type(e).__name__)
def test_every_event_survives_a_round_trip_through_json(event: object) -> None:
    data = event_to_json(event)  # type: ignore[arg-type]
    assert event_from_json(json.loads(json.dumps(data))) == event


def test_enums_are_stored_as_their_values() -> None:
    data = event_to_json(StepFinished(FAILED))
    assert data["event"] == "step_finished"
    assert data["result"]["status"] == "timed_out"
    run = event_to_json(EVERY_EVENT[-1])
    assert run["result"]["status"] == "failed"
    assert run["result"]["params"] == [["QUEUE", "default"]]


def test_older_and_newer_logs_stay_readable() -> None:
    # A field added later is ignored; a field missing from an older log takes its default.
    data = {"event": "step_output", "index": 1, "stream": "stdout", "text": "x", "colour": "red"}
    assert event_from_json(data) == StepOutput(1, "stdout", "x")
    data = {"event": "run_started", "runbook_id": "a", "target": "t", "operator": "o", "started_at": "s"}
    assert event_from_json(data) == RunStarted("a", "t", "o", "s", ())


def test_unknown_event_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        event_from_json({"event": "step_exploded"})


def test_log_keeps_events_in_order_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    append_events(path, EVERY_EVENT[:2])
    append_events(path, EVERY_EVENT[2:])
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(EVERY_EVENT)
    assert read_events(path) == EVERY_EVENT


def test_half_written_last_line_is_ignored_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    append_events(path, EVERY_EVENT)
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"event":"step_output","index":2,"stream":"std')
    with pytest.warns(TruncatedRecordWarning, match=r"events.jsonl:6: ignoring the last line"):
        assert read_events(path) == EVERY_EVENT
    log = read_event_log(path)
    assert log.truncated_line == 6 and log.truncated_tail is not None


def test_line_cut_inside_a_multibyte_character_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    append_events(path, EVERY_EVENT[:2])
    line = json.dumps(event_to_json(EVERY_EVENT[2]), ensure_ascii=False).encode()
    cut = line.index("ü".encode()) + 1
    with open(path, "ab") as f:
        f.write(line[:cut])
    with pytest.warns(TruncatedRecordWarning):
        assert read_events(path) == EVERY_EVENT[:2]


def test_damaged_line_in_the_middle_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    append_events(path, EVERY_EVENT[:1])
    with open(path, "a", encoding="utf-8") as f:
        f.write("not json\n")
    append_events(path, EVERY_EVENT[1:2])
    with pytest.raises(RecordError, match=r"events.jsonl:2: damaged event log line"):
        read_events(path)


# --- notebook ------------------------------------------------------------------------


def test_executed_notebook_is_valid_and_carries_outputs_and_results() -> None:
    runbook, events = CASES["failed-after-retry"]()
    nb = build_notebook(runbook, events)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "opsbook-bash"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.metadata.name for c in code] == ["check-queue", "restart-worker", "verify-drained"]
    first, failed, not_run = code
    assert first.outputs == [{"output_type": "stream", "name": "stdout", "text": "98231\n"}]
    assert first.metadata.opsbook.status == "passed" and first.execution_count == 1
    assert failed.metadata.opsbook.status == "failed"
    assert failed.metadata.opsbook.exit_status == 1
    assert failed.metadata.opsbook.attempts == 2
    assert failed.metadata.opsbook.reason == "exit status 1 (expected 0) after 2 attempts"
    assert failed.outputs[0]["name"] == "stderr"
    assert failed.metadata.retry == {"attempts": 2, "delay": 5.0}  # the step's options
    assert not_run.outputs == [] and not_run.execution_count is None
    assert not_run.metadata.opsbook.status == "not_run"
    # Prose stays, between the steps, as Markdown.
    assert nb.cells[0].cell_type == "markdown" and "Worker queue" in nb.cells[0].source


def test_notebook_file_reads_back_identical() -> None:
    runbook, events = CASES["resumed"]()
    nb = build_notebook(runbook, events)
    again = nbformat.reads(notebook_text(nb), as_version=4)
    nbformat.validate(again)
    assert again == nb


def test_notebook_shows_the_interrupted_step_with_its_output() -> None:
    runbook, events = CASES["killed-mid-step"]()
    cell = [c for c in build_notebook(runbook, events).cells if c.cell_type == "code"][1]
    assert cell.metadata.opsbook.status == "interrupted"
    assert cell.metadata.opsbook.reason == "no result recorded (opsbook stopped)"
    assert "Restarting" in "".join(o["text"] for o in cell.outputs)


def test_notebook_never_shows_a_secret_param_value() -> None:
    runbook, events = CASES["all-passed"]()
    nb = build_notebook(runbook, events)
    assert nb.metadata.opsbook.params == {"QUEUE": "default", "REDIS_PASSWORD": "***"}
    assert "hunter2" not in notebook_text(nb)


# --- the record directory ------------------------------------------------------------


def test_default_record_dir_is_utc_timestamp_and_runbook_id(tmp_path: Path) -> None:
    now = datetime(2026, 11, 26, 21, 15, 0, tzinfo=timezone(timedelta(hours=1)))
    path = default_record_dir(tmp_path, "incidents/worker-queue-backed-up", now)
    assert path == tmp_path / ".opsbook/runs/20261126T201500Z-incidents-worker-queue-backed-up"


def write_record(directory: Path, case: str, **kwargs: object) -> list[object]:
    runbook, events = CASES[case]()
    with RecordWriter(directory, runbook, **kwargs) as writer:  # type: ignore[arg-type]
        for event in events:
            writer.on_event(event)
    return list(events)


def test_record_holds_events_transcript_and_notebook(tmp_path: Path) -> None:
    events = write_record(tmp_path, "failed-after-retry")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl", "executed.ipynb", "transcript.md"]
    assert load_record(tmp_path) == events
    transcript = (tmp_path / "transcript.md").read_text(encoding="utf-8")
    assert "**failed** at step 2 `restart-worker`" in transcript
    assert "no such service: worker" in transcript
    nbformat.validate(nbformat.read(tmp_path / "executed.ipynb", as_version=4))


def test_files_describe_the_run_after_every_step(tmp_path: Path) -> None:
    runbook, events = CASES["all-passed"]()
    writer = RecordWriter(tmp_path, runbook)
    for event in events:
        writer.on_event(event)
        if isinstance(event, StepStarted):
            text = (tmp_path / "transcript.md").read_text(encoding="utf-8")
            # If opsbook died now, this is what the post-mortem would read.
            assert f"Step {event.index} · {event.name}" in text
            assert "interrupted**: no result recorded (opsbook stopped)" in text
        if isinstance(event, StepFinished):
            nb = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
            cell = [c for c in nb.cells if c.cell_type == "code"][event.result.index - 1]
            assert cell.metadata.opsbook.status == "passed"
    writer.close()


def test_output_is_on_disk_before_the_step_ends(tmp_path: Path) -> None:
    runbook, _ = CASES["all-passed"]()
    writer = RecordWriter(tmp_path, runbook, refresh_seconds=None)
    writer.on_event(RunStarted(runbook.id, "sandbox", "alice", "2026-11-26T20:15:00Z"))
    writer.on_event(StepStarted(1, "check-queue", "redis-cli llen q", 1, "2026-11-26T20:15:00Z"))
    writer.on_event(StepOutput(1, "stdout", "4212\n"))
    # Not closed, no step end: another process (or a post-mortem after kill -9) reads it.
    assert load_record(tmp_path)[-1] == StepOutput(1, "stdout", "4212\n")
    render_record(tmp_path, runbook)
    assert "4212" in (tmp_path / "transcript.md").read_text(encoding="utf-8")
    writer.close()


def test_long_running_step_refreshes_the_transcript_now_and_then(tmp_path: Path) -> None:
    runbook, _ = CASES["all-passed"]()
    now = [0.0]
    writer = RecordWriter(tmp_path, runbook, refresh_seconds=5.0, clock=lambda: now[0])
    writer.on_event(RunStarted(runbook.id, "sandbox", "alice", "2026-11-26T20:15:00Z"))
    writer.on_event(StepStarted(1, "check-queue", "tail -f log", 1, "2026-11-26T20:15:00Z"))
    writer.on_event(StepOutput(1, "stdout", "early line\n"))
    assert "early line" not in (tmp_path / "transcript.md").read_text(encoding="utf-8")
    now[0] = 6.0
    writer.on_event(StepOutput(1, "stdout", "later line\n"))
    assert "later line" in (tmp_path / "transcript.md").read_text(encoding="utf-8")
    writer.close()


def test_resumed_run_appends_a_session_to_the_same_record(tmp_path: Path) -> None:
    runbook, events = CASES["resumed"]()
    second = next(i for i, e in enumerate(events) if isinstance(e, RunStarted) and i > 0)
    with RecordWriter(tmp_path, runbook) as first_run:
        for event in events[:second]:
            first_run.on_event(event)
    with RecordWriter(tmp_path, runbook) as resumed:
        for event in events[second:]:
            resumed.on_event(event)
    assert load_record(tmp_path) == events
    transcript = (tmp_path / "transcript.md").read_text(encoding="utf-8")
    assert "## Session 1" in transcript and "## Session 2 (resumed)" in transcript
    assert "| Status | **passed** |" in transcript


def test_resume_after_a_crash_mid_line_drops_the_half_line(tmp_path: Path) -> None:
    runbook, events = CASES["resumed"]()
    second = next(i for i, e in enumerate(events) if isinstance(e, RunStarted) and i > 0)
    append_events(tmp_path / "events.jsonl", events[:second])
    with open(tmp_path / "events.jsonl", "a", encoding="utf-8") as f:
        f.write('{"event":"step_out')
    writer = RecordWriter(tmp_path, runbook)
    assert writer.discarded_tail == '{"event":"step_out'
    for event in events[second:]:
        writer.on_event(event)
    writer.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no truncation left to warn about
        assert load_record(tmp_path) == events


def test_masker_keeps_secrets_out_of_every_file(tmp_path: Path) -> None:
    runbook = queue_runbook()
    run = RunBuilder(runbook).start(params=(("REDIS_PASSWORD", "***"),))
    run.step("check-queue", stdout="AUTH hunter22\n", stderr="auth failed for hunter22\n",
             status=StepStatus.FAILED, exit_status=1, reason="output shows hunter22")
    run.finish(RunStatus.FAILED)
    with RecordWriter(tmp_path, runbook, masker=Masker({"REDIS_PASSWORD": "hunter22"})) as writer:
        for event in run.events:
            writer.on_event(event)
    for name in ("events.jsonl", "transcript.md", "executed.ipynb"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "hunter22" not in text, name
        assert "***" in text, name


def test_missing_record_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="not an opsbook run record"):
        load_record(tmp_path)


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    write_record(tmp_path, "all-passed")
    (tmp_path / ".transcript.md.x1.tmp").write_text("left by a killed run")
    runbook, _ = CASES["all-passed"]()
    RecordWriter(tmp_path, runbook).close()
    assert not list(tmp_path.glob(".*.tmp"))


def test_rewriting_a_200_step_record_stays_cheap(tmp_path: Path) -> None:
    runbook = make_runbook([(f"step-{i}", f"echo {i}") for i in range(1, 201)])
    run = RunBuilder(runbook).start()
    for i in range(1, 201):
        run.step(f"step-{i}", stdout=[f"line {j}\n" for j in range(5)])
    run.finish(RunStatus.PASSED)
    started = time.process_time()
    with RecordWriter(tmp_path, runbook) as writer:
        for event in run.events:
            writer.on_event(event)
    cpu = time.process_time() - started
    # Generous bound (CPU time, not wall time: disk syncs vary): a quadratic re-render
    # of the whole record per step took several times longer.
    print(f"200 steps: {cpu:.2f} s CPU")
    assert cpu < 10.0
    assert (tmp_path / "transcript.md").read_text(encoding="utf-8").count("- Status: **passed**") == 200


# --- killed at any moment ------------------------------------------------------------

WRITER_PROGRAM = r"""
import sys, time
from pathlib import Path
from tests.support.transcripts import RunBuilder, make_runbook
from opsbook.run.events import RunStatus
from opsbook.record.writer import RecordWriter

runbook = make_runbook([(f"step-{i}", f"echo {i}") for i in range(1, 41)])
run = RunBuilder(runbook).start(operator=sys.argv[3])
for i in range(1, 41):
    run.step(f"step-{i}", stdout=[f"{i}: line {j} ``` \n" * 50 for j in range(5)], stderr="warn\n")
run.finish(RunStatus.PASSED)
writer = RecordWriter(Path(sys.argv[1]), runbook)
writer.on_event(run.events[0])  # the run has started: from here on, any moment may be the last
print("ready", flush=True)
for event in run.events[1:]:
    writer.on_event(event)
    time.sleep(0.0005)
writer.close()
print("done", flush=True)
"""


def kill_writer_at_random(directory: Path, delay: float, operator: str) -> bool:
    """Run a record writer in a subprocess, SIGKILL it after ``delay`` s; True if it finished first."""
    env = subprocess_env()
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER_PROGRAM, str(directory), "-", operator],
        stdout=subprocess.PIPE, env=env, text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate()
    return "done" in out


@pytest.mark.parametrize("seed", range(4))
def test_record_killed_at_a_random_moment_is_still_readable(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    finished = kill_writer_at_random(tmp_path, rng.uniform(0.01, 0.4), "alice")
    # Resume into the same record and kill again: two sessions, each cut anywhere.
    kill_writer_at_random(tmp_path, rng.uniform(0.01, 0.4), "bob")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedRecordWarning)
        events = load_record(tmp_path)
    assert sum(isinstance(e, RunStarted) for e in events) == 2
    nbformat.validate(nbformat.read(tmp_path / "executed.ipynb", as_version=4))
    transcript = (tmp_path / "transcript.md").read_text(encoding="utf-8")
    assert transcript.startswith("# Transcript:") and transcript.endswith(".\n")
    assert "alice" in transcript and "bob" in transcript
    # Every step the log says finished appears in the transcript rebuilt from the log.
    runbook = make_runbook([(f"step-{i}", f"echo {i}") for i in range(1, 41)])
    render_record(tmp_path, runbook)
    rebuilt = (tmp_path / "transcript.md").read_text(encoding="utf-8")
    for event in events:
        if isinstance(event, StepFinished):
            assert f"Step {event.result.index} · {event.result.name}" in rebuilt
    # The log decides how the last session ended (the writer may be killed after its last
    # event but before it says "done"): a step cut off is marked, a finished run says so.
    if isinstance(events[-1], (StepStarted, StepOutput)):
        assert "opsbook stopped" in rebuilt
    if isinstance(events[-1], RunFinished):
        assert "| Status | **passed** |" in rebuilt
    assert not finished or sum(isinstance(e, RunFinished) for e in events) >= 1


def test_a_large_record_is_rewritten_less_often_but_ends_complete(tmp_path: Path) -> None:
    """Once writing the record takes long, step boundaries skip rewrites so that writing stays a
    small share of the run; the run's start and end are always written, and nothing is lost."""
    ticks = iter(i * 0.02 for i in range(100_000))  # every clock reading is 20 ms later: renders look slow
    runbook = make_runbook([(f"step-{i}", f"echo {i}") for i in range(1, 201)])
    run = RunBuilder(runbook).start()
    for i in range(1, 201):
        run.step(f"step-{i}", stdout=f"{i}\n")
    run.finish(RunStatus.PASSED)
    writer = RecordWriter(tmp_path, runbook, clock=lambda: next(ticks))
    for event in run.events:
        writer.on_event(event)
        if isinstance(event, RunStarted):
            assert "Started" in (tmp_path / "transcript.md").read_text(encoding="utf-8")
    boundaries = sum(isinstance(e, (StepStarted, StepFinished)) for e in run.events)
    assert writer.renders < boundaries / 3, (writer.renders, boundaries)
    transcript = (tmp_path / "transcript.md").read_text(encoding="utf-8")  # RunFinished always renders
    assert transcript.count("- Status: **passed**") == 200 and "| Status | **passed** |" in transcript
    notebook = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    assert sum(1 for c in notebook.cells if c.cell_type == "code" and c.outputs) == 200
    writer.close()


def test_a_small_record_is_rewritten_at_every_step_boundary(tmp_path: Path) -> None:
    runbook = make_runbook([(f"step-{i}", f"echo {i}") for i in range(1, 6)])
    run = RunBuilder(runbook).start()
    with RecordWriter(tmp_path, runbook) as writer:
        writer.on_event(run.events[0])
        for i in range(1, 6):
            before = len(run.events)
            run.step(f"step-{i}", stdout=f"out {i}\n")
            for event in run.events[before:]:
                writer.on_event(event)
            assert f"out {i}" in (tmp_path / "transcript.md").read_text(encoding="utf-8")
