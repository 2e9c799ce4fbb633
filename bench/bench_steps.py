"""Benchmark the cost of a step as a run grows: 10, 100 and 1,000 one-line steps through `opsbook run`.

Flat means the last steps of a long run cost what its first ones did: the record (events.jsonl
appended, transcript and notebook rewritten) must not make a step's cost grow with the steps
before it. For each size the per-step time over the whole run and over its first and last tenth
(from step start to the next step's start, read from the record) are compared with `bash -c true`
measured in the same run.

Prints a table and writes (replaces) the "## Steps as a run grows" section of bench/RESULTS.md.
Usage: python bench/bench_steps.py [--no-record]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench_run import bash_baseline, opsbook, step_times
from support import cpus, median, record_section, runbook_header, today

SIZES = (10, 100, 1000)


def per_step(starts: list[float]) -> float:
    """Seconds from one step's start to the next's, on average over `starts`."""
    return (starts[-1] - starts[0]) / (len(starts) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-record", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "opsbook.toml").write_text("[targets.local]\nconfirm = false\n")
        (root / "runbooks").mkdir()
        for n in SIZES:
            body = "".join(f'\n```bash name="s{i}"\ntrue\n```\n' for i in range(n))
            (root / "runbooks" / f"steps-{n}.md").write_text(runbook_header(f"{n} steps") + body)
        opsbook(root, "steps-10", root / "warmup")
        for n in SIZES:
            opsbook(root, f"steps-{n}", root / f"rec-{n}")
            starts = [start for start, _ in step_times(root / f"rec-{n}")]
            tenth = max(2, n // 10)
            baseline = median([bash_baseline(20) / 20 for _ in range(3)])
            rows.append((n, per_step(starts), per_step(starts[:tenth]), per_step(starts[-tenth:]), baseline))
    lines = ["## Steps as a run grows", "",
             f"One `opsbook run` of N one-line steps (`true`) on a target with no confirmation; per step = "
             f"start of a step to the start of the next, from the record; {cpus()}, {today()}. "
             "Flat: the last tenth costs what the first tenth does.", "",
             "| steps | per step | first tenth | last tenth | `bash -c true` | x `bash -c` |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n, whole, first, last, baseline in rows:
        lines.append(f"| {n} | {whole * 1000:.1f} ms | {first * 1000:.1f} ms | {last * 1000:.1f} ms | "
                     f"{baseline * 1000:.1f} ms | {whole / baseline:.1f}x |")
    print("\n".join(lines))
    if not args.no_record:
        record_section("\n".join(lines))


if __name__ == "__main__":
    main()
