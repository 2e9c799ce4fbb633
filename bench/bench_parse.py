"""Benchmark parsing, showing and linting one runbook of many steps: the cost must grow linearly.

A runbook of N one-line steps is parsed (`load_runbook`), rendered for the terminal (`opsbook
show`, into a string) and linted (warnings included), for N = 1,000 and 10,000. Linear means the
time per step stays the same; the ratio "per step at 10k / per step at 1k" is what is recorded
(1.0 is linear; the earlier parser gave about 10 at these sizes, growing with N).

Prints a table and writes (replaces) the "## Parsing" section of bench/RESULTS.md.
Usage: python bench/bench_parse.py [--repeat 3] [--no-record]
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

from rich.console import Console
from support import cpus, median, record_section, repeat_seconds, runbook_header, today

from opsbook.runbook.discover import load_runbook
from opsbook.runbook.lint import lint_warnings

SIZES = (1_000, 10_000)


def write_runbook(folder: Path, steps: int) -> Path:
    path = folder / f"steps-{steps}.md"
    body = "".join(f'\nStep {i} prose.\n\n```bash name="step-{i}"\necho {i}\n```\n' for i in range(steps))
    path.write_text(runbook_header("Many steps") + body, encoding="utf-8")
    return path


def show(path: Path) -> None:
    from opsbook.cli.console import StepHeader, content

    book = load_runbook(path)
    console = Console(file=io.StringIO(), width=100)
    total = len(book.steps)
    for step in book.steps:
        header = StepHeader(step, total, book.step_timeout(step))
        console.print(header)
        console.print(content(step.source))


def lint(path: Path) -> None:
    lint_warnings(path.read_text(encoding="utf-8"), load_runbook(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-record", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    rows: dict[str, dict[int, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {n: write_runbook(Path(tmp), n) for n in SIZES}
        for name, action in (("parse", load_runbook), ("show", show), ("lint", lint)):
            rows[name] = {n: median(repeat_seconds(lambda p=paths[n]: action(p), args.repeat)) for n in SIZES}
    lines = ["## Parsing", "",
             f"One runbook of N one-line steps; median of {args.repeat} runs; {cpus()}, {today()}. "
             "Linear: the time per step at 10k equals the time per step at 1k (ratio 1.0).", "",
             "| action | 1,000 steps | 10,000 steps | per step at 10k / at 1k |", "| --- | ---: | ---: | ---: |"]
    for name, times in rows.items():
        per_small, per_large = times[SIZES[0]] / SIZES[0], times[SIZES[1]] / SIZES[1]
        lines.append(f"| {name} | {times[SIZES[0]]:.2f} s | {times[SIZES[1]]:.2f} s | {per_large / per_small:.2f} |")
    print("\n".join(lines))
    if not args.no_record:
        record_section("\n".join(lines))


if __name__ == "__main__":
    main()
