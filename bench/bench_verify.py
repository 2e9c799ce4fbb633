"""Benchmark: total `opsbook verify` time for the runbooks, cold and warm sandbox, and the reset cost.

    python bench/bench_verify.py [--project opsbook-bench] [--resets 5] [--no-write]

cold: the sandbox project is down (images already built) and verification brings it up;
warm: the sandbox is already up and healthy and is reused. Per runbook, the time spent in
its own steps is set against the whole verification of it (reset, control, fault, alerts,
postconditions), which is the overhead verification adds to running the steps.
The results replace the "Verification" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

from support import RESULTS, ROOT, WORK, format_ratio, record_section, repeat_seconds, spread, timed_call


def _verify(project: str, out: Path) -> tuple[float, list]:  # type: ignore[type-arg]
    from opsbook.verify.suite import VerifyRequest, run_verification

    outcome, elapsed = timed_call(
        lambda: run_verification(VerifyRequest(root=ROOT, out=out, project=project, keep_sandbox=True)))
    return elapsed, list(outcome.verifications)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", default="opsbook-bench")
    parser.add_argument("--resets", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; do not update bench/RESULTS.md")
    args = parser.parse_args()

    from opsbook.sandbox import Sandbox

    sandbox = Sandbox(ROOT, args.project)
    work = WORK / "verify"
    print(f"taking project {args.project} down for a cold start ...", flush=True)
    sandbox.down()
    try:
        cold, cold_results = _verify(args.project, work / "cold")
        print(f"cold verify: {cold:.1f} s", flush=True)
        warm, warm_results = _verify(args.project, work / "warm")
        print(f"warm verify: {warm:.1f} s", flush=True)
        resets = repeat_seconds(sandbox.reset, args.resets)
        print(f"reset: mean {statistics.mean(resets):.2f} s over {len(resets)}", flush=True)
    finally:
        sandbox.down()

    rows = []
    for v in warm_results:
        steps = sum(s.duration for c in v.cases for s in c.steps)
        cases = len(v.cases)
        rows.append(f"| {v.runbook_id} | {cases} | {'passed' if v.passed else 'FAILED'} | {v.duration:.1f} s "
                    f"| {steps:.1f} s | {format_ratio(v.duration, steps)} |")
    cold_ok = all(v.passed for v in cold_results)
    warm_ok = all(v.passed for v in warm_results)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    low, high = spread(resets)
    section = "\n".join([
        "## Verification (`bench/bench_verify.py`)",
        "",
        f"Measured {now} on {platform.machine()}, Python {platform.python_version()}, "
        f"{len(warm_results)} runbooks (`runbooks/`), sandbox project `{args.project}`.",
        "",
        "| what | time | all passed |",
        "| --- | --- | --- |",
        f"| cold: sandbox down, `opsbook verify` brings it up (images built) | {cold:.1f} s | {cold_ok} |",
        f"| warm: sandbox up and reused | {warm:.1f} s | {warm_ok} |",
        f"| cold − warm: bringing the sandbox up | {cold - warm:.1f} s | |",
        f"| `reset` (per runbook case; mean of {len(resets)}, min {low:.2f} s, max {high:.2f} s) "
        f"| {statistics.mean(resets):.2f} s | |",
        "",
        "Per runbook (warm). *steps* is the time of the runbook's own steps; *ratio* is the whole",
        "verification of the runbook over its steps: the cost of reset, control run, fault, alert",
        "waits and postconditions.",
        "",
        "| runbook | cases | result | verification | steps | ratio |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
    ])
    print(section)
    if not args.no_write:
        record_section(section)
        print(f"updated {RESULTS}")
    return 0 if cold_ok and warm_ok else 1


if __name__ == "__main__":
    sys.exit(main())
