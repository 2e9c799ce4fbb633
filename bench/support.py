"""What the benchmark scripts in bench/ share: paths, the RESULTS.md writer, statistics, runbook headers.

The scripts run as ``python bench/bench_x.py``, so this folder is on ``sys.path`` and they
``import support``. Each benchmark owns one ``## Section`` of bench/RESULTS.md and replaces
it with `record_section`; the other sections are kept as they are. The benches report
medians and ranges (min to max) of repeated runs, and ratios against a baseline.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from opsbook.kernel.protocol import DISPLAY_NAME, KERNEL_NAME, LANGUAGE
from opsbook.text import write_atomically

BENCH = Path(__file__).resolve().parent
"""The bench/ folder."""
ROOT = BENCH.parent
"""The repository root."""
RESULTS = BENCH / "RESULTS.md"
"""The recorded results, one ``## Section`` per benchmark."""
WORK = BENCH / ".work"
"""Scratch space for benchmarks that keep their files between runs."""

_EMPTY_RESULTS = "# Benchmark results\n"

T = TypeVar("T")


# --- RESULTS.md -----------------------------------------------------------------------------


def record_section(section: str, results: Path = RESULTS) -> Path:
    """Replace the section that ``section`` heads (its first line, ``## Name``) in ``results``.

    A section runs from its heading line to the next ``## `` line or the end of the file; it
    is appended when the file has none. Sections are separated by one blank line and the file
    ends with one newline. The file is written atomically. Returns ``results``.
    """
    body = section.strip("\n") + "\n"
    heading = body.split("\n", 1)[0]
    if not heading.startswith("## "):
        raise ValueError(f"a section starts with its `## ` heading, not {heading!r}")
    current = results.read_text(encoding="utf-8") if results.exists() else _EMPTY_RESULTS
    match = re.search(rf"^{re.escape(heading)}(?:\n|\Z).*?(?=^## |\Z)", current, re.S | re.M)
    head, tail = (current[: match.start()], current[match.end() :]) if match else (current, "")
    head = head.rstrip("\n") + "\n\n" if head.strip() else ""
    return write_atomically(results, head + body + ("\n" + tail if tail else ""))


# --- statistics -----------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    """The median of ``values`` (at least one)."""
    return statistics.median(values)


def spread(values: Iterable[float]) -> tuple[float, float]:
    """The range of ``values``: (smallest, largest)."""
    values = list(values)
    return min(values), max(values)


def format_range(values: Iterable[float], digits: int = 1, sep: str = "–") -> str:
    """``low–high`` of ``values``, each with ``digits`` decimals (``sep`` between them)."""
    low, high = spread(values)
    return f"{low:.{digits}f}{sep}{high:.{digits}f}"


def ratio(value: float, baseline: float) -> float:
    """``value / baseline``; NaN when the baseline is zero."""
    return value / baseline if baseline else math.nan


def format_ratio(value: float, baseline: float, digits: int = 2) -> str:
    """``value / baseline`` as ``1.89x``."""
    return f"{ratio(value, baseline):.{digits}f}x"


def timed_call(func: Callable[[], T]) -> tuple[T, float]:
    """What one call of ``func`` returns, and its wall time in seconds."""
    started = time.perf_counter()
    result = func()
    return result, time.perf_counter() - started


def seconds(func: Callable[[], object]) -> float:
    """Wall time of one call of ``func``, in seconds."""
    return timed_call(func)[1]


def repeat_seconds(func: Callable[[], object], times: int) -> list[float]:
    """Wall time of each of ``times`` calls of ``func``, in seconds."""
    return [seconds(func) for _ in range(times)]


# --- machine --------------------------------------------------------------------------------


def cpus() -> str:
    """``2 CPUs``: the CPU count as the results state it."""
    return f"{os.cpu_count()} CPUs"


def load_average() -> float:
    """The load average over the last minute."""
    return os.getloadavg()[0]


def today() -> str:
    """Today's date (UTC), ``2026-11-26``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


# --- runbooks -------------------------------------------------------------------------------


def runbook_header(title: str, **settings: str) -> str:
    """The YAML header of a runbook for the opsbook kernel, ``---`` to ``---`` and a newline.

    ``opsbook:`` holds ``format: 1``, the title and then ``settings`` in order, each value
    written as given (YAML text: ``"[app, worker]"``, ``"120"``).
    """
    lines = [
        "---",
        "jupyter:",
        "  kernelspec:",
        f"    name: {KERNEL_NAME}",
        f"    display_name: {DISPLAY_NAME}",
        f"    language: {LANGUAGE}",
        "opsbook:",
        "  format: 1",
        f"  title: {json.dumps(title)}",
        *(f"  {key}: {value}" for key, value in settings.items()),
        "---",
    ]
    return "\n".join(lines) + "\n"
