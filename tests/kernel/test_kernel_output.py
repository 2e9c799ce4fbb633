"""Output: live, batched, streams kept apart, complete below the cap, capped with a marker."""

from __future__ import annotations

import re
import resource
import time
from pathlib import Path

import pytest

from opsbook.run.session import KernelSession

from .conftest import kernel_pid

pytestmark = pytest.mark.kernel

MARKER = re.compile(r"^\[opsbook: output truncated after (\S+ \S+); (\d+) more bytes not shown\]$", re.M)


def test_stdout_and_stderr_arrive_live_and_apart(session: KernelSession) -> None:
    started = time.monotonic()
    seen: list[tuple[float, str, str]] = []
    result = session.run(
        "echo out-1; echo err-1 >&2; sleep 1.5; echo out-2; echo err-2 >&2",
        timeout=30,
        on_output=lambda stream, text: seen.append((time.monotonic() - started, stream, text)),
    )
    assert result.stdout == "out-1\nout-2\n"
    assert result.stderr == "err-1\nerr-2\n"
    first = [(stream, text) for at, stream, text in seen if at < 1.2]
    assert ("stdout", "out-1\n") in first and ("stderr", "err-1\n") in first, seen
    assert "".join(t for _, s, t in seen if s == "stdout") == result.stdout
    assert "".join(t for _, s, t in seen if s == "stderr") == result.stderr


def test_output_below_the_cap_arrives_complete_in_order_and_batched(session: KernelSession) -> None:
    chunks: list[str] = []
    result = session.run("seq 1 20000", timeout=60, on_output=lambda s, t: chunks.append(t))
    expected = "".join(f"{i}\n" for i in range(1, 20001))
    assert result.stdout == expected and "".join(chunks) == expected
    assert not result.truncated
    assert len(chunks) < 200  # batches, not one message per line


def test_output_over_the_cap_is_cut_with_a_marker_and_the_command_completes(make_session) -> None:
    session = make_session(output_cap=1000)
    result = session.run("seq 1 10000; echo finished >&2", timeout=60)
    total = sum(len(f"{i}\n") for i in range(1, 10001))
    assert result.exit_status == 0 and result.truncated
    shown, _, marker_line = result.stdout.rstrip("\n").rpartition("\n")
    assert len((shown + "\n").encode()) <= 1001
    m = MARKER.match(marker_line)
    assert m is not None, result.stdout[-200:]
    assert m.group(1) == "1.0 kB" and int(m.group(2)) == total - 1000
    assert result.stderr == "finished\n"  # each stream has its own cap


def test_the_cap_can_come_from_the_environment(make_session) -> None:
    import os

    session = make_session(env={**os.environ, "OPSBOOK_OUTPUT_CAP": "500"})
    result = session.run("seq 1 1000", timeout=60)
    assert result.truncated and "after 500 bytes;" in result.stdout


def test_two_million_lines_are_capped_with_bounded_memory(session: KernelSession) -> None:
    # How fast: bench/bench_kernel.py, against plain bash.
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = session.run("seq 1 2000000", timeout=120)
    assert result.exit_status == 0 and result.truncated
    assert len(result.stdout) < 1_100_000
    assert MARKER.search(result.stdout)
    client_growth_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert client_growth_kb < 100_000
    status = Path(f"/proc/{kernel_pid(session)}/status").read_text()
    kernel_peak_kb = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
    assert kernel_peak_kb < 250_000


def test_what_a_command_prints_stays_text(session: KernelSession, tmp_path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<h1>file content</h1>")
    code = f"echo '<script>alert(1)</script>'; printf '\\033]1337;File=inline=1:AAAA\\a\\n'; echo {page}"
    result = session.run(code, timeout=30)
    assert "<script>alert(1)</script>" in result.stdout
    assert "file content" not in result.stdout
