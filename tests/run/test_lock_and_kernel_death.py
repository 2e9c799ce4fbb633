"""Two operators, one target: the second run is refused with the holder named, or takes over on the
record. And a kernel that dies mid-step leaves that step failed, never "not run"."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from opsbook.run.lock import RunLocked, TargetLock, current_holder
from tests.support.project import Project, finished

pytestmark = pytest.mark.kernel


def test_a_held_target_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    first = current_holder("alice", "2026-12-01T03:00:00.000Z", tmp_path / "rec-a", "deployment/deploy", "production")
    second = current_holder("bob", "2026-12-01T03:01:00.000Z", tmp_path / "rec-b", "deployment/deploy", "production")
    with TargetLock(tmp_path, first):
        with pytest.raises(RunLocked, match=r"alice@.* since 2026-12-01T03:00:00.000Z, record .*rec-a") as refused:
            with TargetLock(tmp_path, second):
                pass
        assert "--break-lock" in str(refused.value)
        with TargetLock(tmp_path, second, break_lock=True) as taken:
            assert taken.broken is not None and taken.broken.user == "alice"
        other = current_holder("bob", "2026-12-01T03:01:00.000Z", None, "incidents/db-down", "production")
        with TargetLock(tmp_path, other):  # another runbook on the same target is not held
            pass
    with TargetLock(tmp_path, second):  # released when the holder ends
        pass


def test_a_second_cli_run_on_the_same_target_is_refused_then_can_take_over(project: Project) -> None:
    name = project.runbook("slow", '''
        ```bash name="wait"
        sleep 8
        ```
    ''')
    first = subprocess.Popen(project.command("run", name, "--target", "local", "--yes", "--record-dir",
                                             str(project.record("first"))),
                             cwd=project.root, env=project.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (project.record("first") / "events.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        refused = project.opsbook("run", name, "--target", "local", "--yes", "--record-dir", str(project.record("second")))
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "already running by" in refused.stderr and str(project.record("first")) in refused.stderr
        assert not (project.record("second") / "events.jsonl").exists(), "a refused run writes no record"
        taken = project.opsbook("run", name, "--target", "local", "--yes", "--break-lock", "--step", "wait",
                                "--record-dir", str(project.record("third")), timeout=60)
        assert taken.returncode == 0, taken.stdout + taken.stderr
        transcript = (project.record("third") / "transcript.md").read_text()
        assert "| Note | --break-lock: ran while" in transcript and "held local" in transcript
    finally:
        first.wait(timeout=60)
    assert first.returncode == 0


def test_the_sandbox_is_never_locked(project: Project) -> None:
    name = project.runbook("local-only", '''
        ```bash name="hello"
        echo hello
        ```
    ''')
    done = project.opsbook("run", name, "--yes", "--record-dir", str(project.record()))
    assert "already running" not in done.stderr
    assert not (project.root / ".opsbook" / "locks").exists()


def test_a_kernel_killed_mid_step_fails_that_step(project: Project) -> None:
    name = project.runbook("dies", '''
        ```bash name="before"
        echo fine
        ```

        ```bash name="kills-kernel"
        echo "going down"
        kill -9 "$PPID"
        sleep 30
        ```

        ```bash name="after"
        echo never
        ```
    ''')
    rec = project.record()
    done = project.opsbook("run", name, "--target", "local", "--yes", "--record-dir", str(rec), timeout=90)
    assert done.returncode == 1, done.stdout + done.stderr
    results = finished(rec)
    assert results["before"]["status"] == "passed"
    assert results["kills-kernel"]["status"] == "failed"
    assert "the kernel died while this step ran" in results["kills-kernel"]["reason"]
    assert results["after"]["status"] == "not_run"
    assert "To connect another client" not in results["kills-kernel"]["reason"]
