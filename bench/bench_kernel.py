"""Benchmark the shell kernel and KernelSession against plain `bash -c`.

Measures, in one run on this machine:
  * per-step cost of KernelSession.run for one-line commands vs `bash -c` for the same commands;
  * time to first step (KernelSession start -> first step done);
  * `seq 1 2000000` through a session: wall time, peak RSS of this process and of the kernel;
  * for context, an ipykernel (python3) cell through nbclient, if that kernel is installed.

Prints the ratios and writes (replaces) the "## Kernel and session" section of bench/RESULTS.md.

    python bench/bench_kernel.py [--steps 200] [--no-record]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from opsbook.run.session import KernelSession
from support import RESULTS, cpus, format_ratio, median, record_section, seconds, timed_call, today

SECTION = "## Kernel and session"
COMMANDS = ("true", "echo hello", "x=$((1 + 2))", "test -d /", "printf '%s\\n' a b c")

GOAL_OVERHEAD_MS = 10.0
GOAL_FIRST_STEP_S = 1.0
GOAL_SEQ_S = 5.0


def per_step_bash(commands: list[str]) -> list[float]:
    return [seconds(lambda: subprocess.run(["bash", "-c", code], stdin=subprocess.DEVNULL, capture_output=True,
                                           check=False))
            for code in commands]


def per_step_session(session: KernelSession, commands: list[str]) -> list[float]:
    times = []
    for code in commands:
        result, elapsed = timed_call(lambda: session.run(code, timeout=60))
        times.append(elapsed)
        assert result.exit_status == 0, (code, result)
    return times


def first_step(cwd: Path) -> float:
    started = time.perf_counter()
    with KernelSession(env=dict(os.environ), cwd=cwd) as session:
        session.run("true", timeout=60)
        return time.perf_counter() - started


def seq_two_million(cwd: Path) -> tuple[float, int, int, int]:
    """Seconds, client peak RSS (KiB), client RSS growth (KiB), kernel peak RSS (KiB)."""
    with KernelSession(env=dict(os.environ), cwd=cwd) as session:
        session.run("true", timeout=60)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = session.run("seq 1 2000000", timeout=300)
        elapsed = time.perf_counter() - started
        assert result.exit_status == 0 and result.truncated
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        status = Path(f"/proc/{session._kernel_pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        kernel_peak = int(match.group(1)) if match else -1
    return elapsed, peak, peak - before, kernel_peak


def ipykernel_cell_ms(cells: int = 50) -> float | None:
    """Per-cell time of `pass` in the python3 kernel through nbclient; None if not installed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        return None
    nb = new_notebook(cells=[new_code_cell("pass")])
    client = NotebookClient(nb, kernel_name="python3")
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        started = time.perf_counter()
        for _ in range(cells):
            client.execute_cell(nb.cells[0], 0)
        return (time.perf_counter() - started) / cells * 1000


def p10(times: list[float]) -> float:
    return statistics.quantiles(times, n=10)[0] * 1000


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    bash = subprocess.run(["bash", "-c", "echo $BASH_VERSION"], capture_output=True, text=True).stdout.strip()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.system()} {platform.release()}, {cpus()} ({cpu}), "
        f"Python {platform.python_version()}, bash {bash}; load average at start {load}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="one-line steps per side (default 200)")
    parser.add_argument("--no-record", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    about = machine()
    commands = [COMMANDS[i % len(COMMANDS)] for i in range(args.steps)]

    with tempfile.TemporaryDirectory(prefix="opsbook-bench-") as tmp:
        cwd = Path(tmp)
        starts = [first_step(cwd) for _ in range(3)]
        with KernelSession(env=dict(os.environ), cwd=cwd) as session:
            session.run("true", timeout=60)
            # Interleave the two sides in blocks so that load from elsewhere hits both alike.
            bash_times: list[float] = []
            session_times: list[float] = []
            block = 20
            for i in range(0, len(commands), block):
                bash_times += per_step_bash(commands[i : i + block])
                session_times += per_step_session(session, commands[i : i + block])
        seq_s, client_peak, client_growth, kernel_peak = seq_two_million(cwd)
    ipy_ms = ipykernel_cell_ms()

    bash_ms = median(bash_times) * 1000
    step_ms = median(session_times) * 1000
    overhead = step_ms - bash_ms
    first = median(starts)
    rows = [
        ("`bash -c CMD` per step (median)", f"{bash_ms:.1f} ms", ""),
        ("KernelSession.run per step (median)", f"{step_ms:.1f} ms", f"{format_ratio(step_ms, bash_ms, 1)} bash -c"),
        ("per-step overhead over `bash -c`", f"{overhead:.1f} ms", f"goal <= {GOAL_OVERHEAD_MS:.0f} ms"),
        ("KernelSession.run per step (mean)", f"{statistics.mean(session_times) * 1000:.1f} ms", "load spikes"),
        (
            "10th percentile, session vs `bash -c`",
            f"{p10(session_times):.1f} vs {p10(bash_times):.1f} ms",
            f"overhead {p10(session_times) - p10(bash_times):.1f} ms on a quiet moment",
        ),
        ("start -> first step done (median of 3)", f"{first:.2f} s", f"goal <= {GOAL_FIRST_STEP_S:.0f} s"),
        ("`seq 1 2000000` through the session", f"{seq_s:.2f} s", f"goal <= {GOAL_SEQ_S:.0f} s"),
        ("client peak RSS (growth during seq)", f"{client_peak / 1024:.0f} MiB (+{client_growth / 1024:.1f} MiB)", ""),
        ("kernel peak RSS", f"{kernel_peak / 1024:.0f} MiB", ""),
    ]
    if ipy_ms is not None:
        rows.append(("for context: ipykernel `pass` cell via nbclient", f"{ipy_ms:.1f} ms", f"{format_ratio(step_ms, ipy_ms)} ours"))

    width = max(len(r[0]) for r in rows)
    print(about)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>22}  {note}")

    if not args.no_record:
        lines = [
            SECTION,
            "",
            f"Measured with `python bench/bench_kernel.py --steps {args.steps}` on {today()}: {about}.",
            f"One-line commands ({', '.join(f'`{c}`' for c in COMMANDS)}) run {args.steps} times each way, "
            "in interleaved blocks of 20; each session step is a fresh bash that restores and saves the state.",
            "",
            "| measurement | value | note |",
            "| --- | ---: | --- |",
            *[f"| {name} | {value} | {note} |" for name, value, note in rows],
            "",
        ]
        record_section("\n".join(lines))
        print(f"recorded in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
