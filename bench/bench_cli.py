"""Benchmark how fast the terminal answers: each read-only command against `python -c pass`, in one run.

On the repository's own library, with the sandbox down: `opsbook --help`, `list`, `search`,
`show` and `lint`, each run --repeat times as a fresh process (the way an on-call engineer runs
it), alternating with the baseline so that load hits both alike. The goal is at most 0.25 s
each, about 10x `python -c pass`. Medians and ranges are recorded, with the figures measured
before the parser stopped importing jupytext kept beside them.

Prints a table and writes (replaces) the "## CLI latency" section of bench/RESULTS.md.
Usage: python bench/bench_cli.py [--repeat 7] [--no-record]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from support import ROOT, cpus, format_range, median, record_section, seconds, today

COMMANDS = [
    ["--help"],
    ["list"],
    ["search", "WorkerQueueBackedUp"],
    ["show", "incidents/worker-queue-backed-up"],
    ["lint"],
]
BEFORE = {"--help": 0.46, "list": 0.83, "search": 0.70, "show": 0.89, "lint": 0.86}
"""Seconds, as measured before this work (one run each, issue text)."""


def run(argv: list[str]) -> float:
    env = {**os.environ, "OPSBOOK_ROOT": str(ROOT), "COLUMNS": "120"}
    return seconds(lambda: subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, check=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-record", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    opsbook = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]
    baseline: list[float] = []
    times: dict[str, list[float]] = {c[0]: [] for c in COMMANDS}
    for _ in range(args.repeat):
        for command in COMMANDS:
            baseline.append(run([sys.executable, "-c", "pass"]))
            times[command[0]].append(run([*opsbook, *command]))
    base = median(baseline)
    lines = ["## CLI latency", "",
             f"Each command a fresh process on this repository's runbooks, median of {args.repeat} "
             f"(range), alternating with `python -c pass` (median {base * 1000:.0f} ms, "
             f"{format_range([b * 1000 for b in baseline], 0)} ms); {cpus()}, {today()}. Goal: at most 0.25 s.", "",
             "| command | before | now | range | x `python -c pass` |", "| --- | ---: | ---: | ---: | ---: |"]
    for command in COMMANDS:
        values = times[command[0]]
        now = median(values)
        lines.append(f"| `opsbook {' '.join(command)}` | {BEFORE[command[0]]:.2f} s | {now:.2f} s | "
                     f"{format_range(values, 2)} s | {now / base:.0f}x |")
    print("\n".join(lines))
    if not args.no_record:
        record_section("\n".join(lines))


if __name__ == "__main__":
    main()
