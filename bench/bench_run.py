"""Benchmark `opsbook run` end to end against plain `bash -c`, in the same run.

Measures, through the real CLI (kernel, runner, masking, record written after every step):
  - per-step overhead: a runbook of N one-line steps vs. N separate `bash -c` processes,
    interleaved --repeat times (median reported, with the range: one run alone is at the
    mercy of whatever else the machine is doing);
  - time to first step: from starting `opsbook run` to the first step finished;
  - 2,000,000 lines of output in one step: wall time and peak memory of the opsbook process
    (the step's output is capped, the rest is drained and counted).

Prints the ratios and writes (replaces) the "## opsbook run" section of bench/RESULTS.md.
Usage: python bench/bench_run.py [--steps 200] [--repeat 3] [--no-record]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import datetime
from pathlib import Path

from support import RESULTS, cpus, load_average, median, record_section, repeat_seconds, runbook_header, spread, today

SECTION = "## opsbook run"
HEADER = runbook_header("Benchmark")


def write_project(root: Path, steps: int) -> None:
    (root / "opsbook.toml").write_text("[targets.local]\nconfirm = false\n")
    books = root / "runbooks"
    books.mkdir()
    many = "".join(f'\n```bash name="s{i}"\ntrue\n```\n' for i in range(steps))
    (books / "many.md").write_text(HEADER + many)
    (books / "one.md").write_text(HEADER + '\n```bash name="first"\ntrue\n```\n')
    (books / "lines.md").write_text(HEADER + '\n```bash name="lines" timeout=60\nseq 1 2000000\n```\n')


def opsbook(root: Path, runbook: str, record: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "OPSBOOK_ROOT": str(root)}
    command = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()", "run", runbook, "--target", "local",
               "--yes", "--record-dir", str(record)]
    started = time.time()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        sys.exit(f"opsbook run {runbook} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return started, done


def step_times(record: Path) -> list[tuple[float, float]]:
    """(start epoch, duration) of each finished step, from the record."""
    out = []
    for line in (record / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "step_finished" and event["result"]["started_at"]:
            started = datetime.fromisoformat(event["result"]["started_at"].replace("Z", "+00:00")).timestamp()
            out.append((started, event["result"]["duration"]))
    return out


def bash_baseline(steps: int) -> float:
    return sum(repeat_seconds(lambda: subprocess.run(["bash", "-c", "true"], check=True), steps))


def measure(steps: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_project(root, steps)
        opsbook(root, "one", root / "warmup")  # kernelspec installed, caches warm

        started, _ = opsbook(root, "one", root / "one")
        first_start, first_duration = step_times(root / "one")[0]
        to_first_step = first_start + first_duration - started

        overheads, ours_runs, baselines = [], [], []
        for run in range(repeat):
            opsbook(root, "many", root / f"many-{run}")
            times = step_times(root / f"many-{run}")
            span = times[-1][0] + times[-1][1] - times[0][0]  # first step start → last step end
            ours_runs.append(span / steps)
            baselines.append(bash_baseline(steps) / steps)
            overheads.append(ours_runs[-1] - baselines[-1])
        ours, baseline, overhead = (median(v) for v in (ours_runs, baselines, overheads))
        low, high = spread(overheads)

        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started, done = opsbook(root, "lines", root / "lines")
        lines_wall = time.time() - started
        peak_kib = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        truncated = "output truncated" in (root / "lines" / "transcript.md").read_text()
    return {"steps": steps, "repeat": repeat, "ours_ms": ours * 1000, "bash_ms": baseline * 1000,
            "overhead_ms": overhead * 1000, "overhead_min_ms": low * 1000,
            "overhead_max_ms": high * 1000, "first_step_s": to_first_step,
            "lines_s": lines_wall, "peak_mib": peak_kib / 1024, "truncated": float(truncated)}


def section(r: dict[str, float]) -> str:
    verdict = lambda ok: "met" if ok else "OVER"  # noqa: E731
    return textwrap.dedent(f"""\
        {SECTION}

        `python bench/bench_run.py --steps {int(r['steps'])} --repeat {int(r['repeat'])}` on {today()} ({platform.machine()}, {cpus()},
        Python {platform.python_version()}, load average {load_average():.1f} at the end). The whole CLI: kernel, runner, secret
        masking, and the record (events, transcript, notebook) rewritten after every step. Per-step
        figures are medians of {int(r['repeat'])} runs, each followed by its own `bash -c` baseline; the
        overhead ranged from {r['overhead_min_ms']:.1f} to {r['overhead_max_ms']:.1f} ms over those runs.

        | measurement | opsbook run | baseline | goal |
        | --- | ---: | ---: | --- |
        | per step, {int(r['steps'])} one-line steps (`true`) | {r['ours_ms']:.1f} ms | `bash -c true`: {r['bash_ms']:.1f} ms | overhead ≤ 10 ms: {r['overhead_ms']:.1f} ms, {verdict(r['overhead_ms'] <= 10)} |
        | start of `opsbook run` → first step finished | {r['first_step_s']:.2f} s | | ≤ 1 s: {verdict(r['first_step_s'] <= 1)} |
        | `seq 1 2000000` in one step (whole run) | {r['lines_s']:.2f} s | | ≤ 5 s: {verdict(r['lines_s'] <= 5)} |
        | peak memory of the opsbook process during it | {r['peak_mib']:.0f} MiB | | bounded (output capped at 1 MB{' and marked' if r['truncated'] else ''}) |
        """)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the N-step runbook (median reported)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    result = measure(args.steps, max(1, args.repeat))
    text = section(result)
    print(text)
    if not args.no_record:
        record_section(text)
        print(f"recorded in {RESULTS}")


if __name__ == "__main__":
    main()
