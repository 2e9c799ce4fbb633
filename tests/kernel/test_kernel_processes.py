"""Interrupt, timeout and cleanup: no process of a step outlives it."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from opsbook.errors import KernelDied
from opsbook.run.session import KernelSession

from .conftest import KILL_GRACE, kernel_pid, processes_named

pytestmark = pytest.mark.kernel


def _wait_gone(marker: str, seconds: float = 3.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while (found := processes_named(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_interrupt_stops_the_whole_process_group(session: KernelSession, marker: str) -> None:
    session.run("KEPT=1", timeout=30)
    threading.Timer(1.0, session.interrupt).start()
    code = f"(exec -a {marker}-bg sleep 600) & echo started; exec -a {marker}-fg sleep 600"
    result = session.run(code, timeout=60)
    assert result.interrupted and not result.timed_out
    assert result.exit_status is None
    assert result.stdout == "started\n"
    assert result.duration < 1.0 + KILL_GRACE + 2
    assert _wait_gone(marker) == []
    assert session.run('echo "$KEPT"', timeout=30).stdout == "1\n"


def test_sigint_to_the_kernel_interrupts_the_step_and_the_kernel_survives(session: KernelSession, marker: str) -> None:
    pid = kernel_pid(session)
    threading.Timer(1.0, os.kill, (pid, signal.SIGINT)).start()
    result = session.run(f"exec -a {marker} sleep 600", timeout=60)
    assert result.exit_status is None and result.duration < 10
    assert _wait_gone(marker) == []
    os.kill(pid, signal.SIGINT)  # between steps: ignored
    time.sleep(0.3)
    assert session.alive
    assert session.run("echo alive", timeout=30).stdout == "alive\n"


def test_a_step_that_ignores_sigint_is_killed_after_the_grace_period(session: KernelSession, marker: str) -> None:
    threading.Timer(0.5, session.interrupt).start()
    result = session.run(f"trap '' INT; (trap '' INT; exec -a {marker} sleep 600) & wait", timeout=60)
    assert result.interrupted
    assert 0.5 + KILL_GRACE * 0.9 <= result.duration < 0.5 + KILL_GRACE + 3
    assert _wait_gone(marker) == []


def test_timeout_stops_the_step_and_the_session_goes_on(session: KernelSession, marker: str) -> None:
    session.run("BEFORE=still-here", timeout=30)
    result = session.run(f"(exec -a {marker} sleep 600) & sleep 600", timeout=1)
    assert result.timed_out and not result.interrupted
    assert result.exit_status is None
    assert result.duration < 1 + KILL_GRACE + 3
    assert _wait_gone(marker) == []
    assert session.run('echo "$BEFORE"', timeout=30).stdout == "still-here\n"


def test_background_jobs_end_with_the_step(session: KernelSession, marker: str) -> None:
    result = session.run(f"(exec -a {marker} sleep 600) & echo left it running", timeout=60)
    assert (result.exit_status, result.stdout) == (0, "left it running\n")
    assert result.duration < KILL_GRACE * 0.8  # SIGTERM at once, not SIGKILL after the grace
    assert _wait_gone(marker) == []


def test_a_pipe_held_open_outside_the_group_does_not_block_the_step(session: KernelSession, marker: str, tmp_path: Path) -> None:
    pidfile = tmp_path / "escaped.pid"
    try:
        result = session.run(
            f"setsid bash -c 'echo $$ > {pidfile}; exec -a {marker} sleep 600' & sleep 0.5; echo done",
            timeout=60,
        )
        assert (result.exit_status, result.stdout) == (0, "done\n")
        assert result.duration < 5
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


def test_a_timed_out_step_leaves_no_escaped_process_behind(session: KernelSession, marker: str) -> None:
    # One left the group with setsid, one double-forked into the background with nohup.
    code = (f"setsid bash -c 'exec -a {marker}-setsid sleep 600' & "
            f"( nohup bash -c 'exec -a {marker}-daemon sleep 600' >/dev/null 2>&1 & ) ; sleep 600")
    result = session.run(code, timeout=1)
    assert result.timed_out
    assert _wait_gone(marker) == []


def test_an_interrupted_step_leaves_no_escaped_process_behind(session: KernelSession, marker: str) -> None:
    threading.Timer(1.0, session.interrupt).start()
    result = session.run(f"setsid bash -c 'exec -a {marker} sleep 600' >/dev/null 2>&1 & sleep 600", timeout=60)
    assert result.interrupted
    assert _wait_gone(marker) == []


def test_each_step_has_its_own_id_and_states_do_not_carry_it(session: KernelSession) -> None:
    first = session.run('echo "$OPSBOOK_STEP_ID"; export OPSBOOK_STEP_ID', timeout=30).stdout.strip()
    second = session.run('echo "$OPSBOOK_STEP_ID"; bash -c \'echo "$OPSBOOK_STEP_ID"\'', timeout=30).stdout.split()
    assert len(first) == 16 and len(second) == 2
    assert second[0] == second[1] != first


def test_the_kernel_runs_in_its_own_session(session: KernelSession) -> None:
    pid = kernel_pid(session)
    assert os.getsid(pid) != os.getsid(0)
    assert os.getpgid(pid) != os.getpgrp()


def test_a_dead_kernel_is_reported(session: KernelSession) -> None:
    with pytest.raises(KernelDied):
        session.run("kill -KILL $PPID", timeout=60)
    assert not session.alive
