"""Sandbox timings: cold build (debootstrap + every image), warm `up`, `reset`.

    python bench/bench_sandbox.py            # warm up + reset (images must exist)
    python bench/bench_sandbox.py --cold     # also rebuild debian:bookworm-slim and every image

--cold re-imports debian:bookworm-slim from debootstrap even when it exists: every image
built on it is then out of date, so `up` rebuilds all of them without layer cache, which is
what a fresh CI machine does. Runs in its own compose project (opsbook-bench), removed at
the end. Prints a Markdown table; --record writes it into bench/RESULTS.md ("## Sandbox").
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Callable

from opsbook.cli.progress import progress_display
from opsbook.sandbox import Sandbox
from opsbook.sandbox.baseimage import bootstrap_base_image
from support import ROOT, cpus, median, record_section, repeat_seconds, seconds, today


def timed(label: str, func: Callable[[], object], results: list[tuple[str, float]]) -> float:
    elapsed = seconds(func)
    results.append((label, elapsed))
    print(f"{label}: {elapsed:.1f}s", file=sys.stderr, flush=True)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", action="store_true", help="rebuild the base image and every image first")
    parser.add_argument("--record", action="store_true", help="write the table into bench/RESULTS.md")
    parser.add_argument("--project", default="opsbook-bench")
    parser.add_argument("--resets", type=int, default=5)
    args = parser.parse_args()

    box = Sandbox(ROOT, args.project)
    results: list[tuple[str, float]] = []
    progress = progress_display if sys.stderr.isatty() else None  # a live display on a terminal only
    try:
        box.down()
        if args.cold:
            t_base = timed("cold: debootstrap + docker import of debian:bookworm-slim",
                           lambda: bootstrap_base_image(lambda _line: None), results)
            t_up = timed("cold: `up` (build every image, start, wait healthy)",
                         lambda: box.up(progress=progress), results)
            results.append(("cold total (base image + up)", t_base + t_up))
            box.down()
        timed("warm `up` (images built, volumes empty)", lambda: box.up(progress=progress), results)
        timed("`up` again on a running sandbox", lambda: box.up(progress=progress), results)
        clean = repeat_seconds(box.reset, args.resets)
        results.append((f"`reset` of a clean sandbox (median of {args.resets})", median(clean)))
        faulted = []
        for fault in ("worker-stuck", "bad-deploy", "high-error-rate"):
            box.inject(fault)
            faulted.append(seconds(box.reset))
        results.append(("`reset` after worker-stuck / bad-deploy / high-error-rate (max)", max(faulted)))
    finally:
        box.down()

    table = ["| measurement | seconds |", "| --- | ---: |"] + [f"| {label} | {value:.1f} |" for label, value in results]
    host = f"{cpus()}, {platform.machine()}, {box.compose()} {box.compose().version}"
    text = "\n".join(table)
    print(text)
    if args.record:
        record(text, host, args.cold)
    return 0


def record(table: str, host: str, cold: bool) -> None:
    record_section(f"## Sandbox\n\nMeasured with `python bench/bench_sandbox.py{' --cold' if cold else ''} --record` "
                   f"on {today()} ({host}). Goals: cold < 6 min on 2 cores, warm `up` <= 30 s, "
                   "`reset` <= 5 s.\n\n" + table + "\n")


if __name__ == "__main__":
    sys.exit(main())
