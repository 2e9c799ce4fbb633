"""Benchmark: the whole library verified, where its time goes, and how well shards balance.

    python bench/bench_verify.py [--project opsbook-bench] [--prior STATUS_JSON] [--no-write]
    python bench/bench_verify.py --status STATUS_JSON --prior STATUS_JSON   (no verification run)

Run mode verifies every runbook in one sandbox (unsharded, brought up first when it is down),
times the whole, and splits each case into its steps, the checks before them (control run,
fault injection, waiting for the alerts to fire), the checks after (healthy, symptom gone,
alerts resolved) and the rest (the sandbox reset, the kernel). --status reads the per-runbook
times of a verification already done instead (`make test` leaves build/verify/status.json).

Shards: for N = 2, 4, 8 the runbooks are split the way `opsbook verify --shard I/N` splits them,
from the durations of --prior (the status.json of an earlier verification: what a CI run plans
with), and each shard's time is then the sum of its runbooks' times measured here. The
predicted slowest shard is from --prior's times, the measured one from this run's; the goal is
the measured slowest within 1.2 x total/N. Replaces the "Verification" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from support import RESULTS, ROOT, WORK, cpus, load_average, record_section, today

SHARD_COUNTS = (2, 4, 8)
GOAL_MINUTES = 10
GOAL_BALANCE = 1.2


def _verify(project: str, out: Path) -> tuple[float, list]:  # type: ignore[type-arg]
    from opsbook.verify.suite import VerifyRequest, run_verification

    started = time.monotonic()
    outcome = run_verification(VerifyRequest(root=ROOT, out=out, project=project, keep_sandbox=True))
    return time.monotonic() - started, list(outcome.verifications)


def _breakdown(verifications: list) -> dict[str, float]:  # type: ignore[type-arg]
    """Seconds, summed over every case: steps, checks before and after them, and the rest."""
    parts = {"steps": 0.0, "before": 0.0, "after": 0.0, "rest": 0.0}
    for v in verifications:
        for case in v.cases:
            steps = sum(s.duration for s in case.steps)
            before = sum(c.duration for c in case.checks if c.phase.value == "before")
            after = sum(c.duration for c in case.checks if c.phase.value == "after")
            parts["steps"] += steps
            parts["before"] += before
            parts["after"] += after
            parts["rest"] += max(0.0, case.duration - steps - before - after)
    return parts


def _durations(path: Path) -> dict[str, float]:
    from opsbook.verify.shard import recorded_durations
    from opsbook.verify.status import load_status_document

    document = load_status_document(path)
    if document is None:
        raise SystemExit(f"{path}: not a status.json of opsbook (schema opsbook-status/1)")
    return recorded_durations(document)


def _steps_share(path: Path) -> dict[str, float]:
    """From a status.json alone: the steps' seconds, and everything else a case costs."""
    document = json.loads(path.read_text(encoding="utf-8"))
    steps = sum(step.get("duration") or 0.0 for entry in document["runbooks"].values()
                for case in entry.get("cases", []) for step in case.get("steps", []))
    total = sum(entry.get("duration") or 0.0 for entry in document["runbooks"].values())
    return {"steps": steps, "rest": max(0.0, total - steps)}


def shard_rows(measured: Mapping[str, float], prior: Mapping[str, float]) -> list[str]:
    """One table row per N: the split planned from `prior`, timed with `measured`."""
    from opsbook.verify.shard import assign, weights

    ids = sorted(measured)
    planned_weights = weights(ids, prior)
    total = sum(measured.values())
    rows = []
    for count in SHARD_COUNTS:
        shard_of = assign(ids, count, prior)
        predicted = [sum(planned_weights[r] for r in ids if shard_of[r] == k) for k in range(1, count + 1)]
        actual = [sum(measured[r] for r in ids if shard_of[r] == k) for k in range(1, count + 1)]
        balance = max(actual) / (total / count)
        rows.append(f"| {count} | {max(predicted) / 60:.1f} min | {max(actual) / 60:.1f} min | "
                    f"{total / count / 60:.1f} min | {balance:.2f} | "
                    f"{'within' if balance <= GOAL_BALANCE else 'over'} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", default="opsbook-bench")
    parser.add_argument("--status", type=Path, help="read the times of this status.json; verify nothing")
    parser.add_argument("--prior", type=Path, default=ROOT / "build" / "verify" / "status.json",
                        help="the status.json the shards are planned from [build/verify/status.json]")
    parser.add_argument("--no-write", action="store_true", help="print only; do not update bench/RESULTS.md")
    args = parser.parse_args()

    prior = _durations(args.prior) if args.prior.is_file() else {}
    passed = True
    if args.status is not None:
        measured = _durations(args.status)
        wall = None
        parts = _steps_share(args.status)
        source = f"`{args.status}`"
    else:
        wall, verifications = _verify(args.project, WORK / "verify")
        measured = {v.runbook_id: v.duration for v in verifications}
        passed = all(v.passed for v in verifications)
        parts = _breakdown(verifications)
        source = f"one unsharded `opsbook verify` in project `{args.project}`"
        print(json.dumps({"wall": wall, "passed": passed, **parts}, indent=2))
    total = sum(measured.values())
    lines = [
        "## Verification (`bench/bench_verify.py`)",
        "",
        f"{today()}, {cpus()}, {platform.machine()}, Python {platform.python_version()}, load average "
        f"{load_average():.1f} at the end. {len(measured)} runbooks, times from {source}; shards planned "
        f"from {'the durations of ' + str(args.prior) if prior else 'no recorded durations (every runbook the median)'}.",
        "",
        "| measurement | value | goal |",
        "| --- | ---: | --- |",
    ]
    if wall is not None:
        lines.append(f"| whole library, unsharded, wall time | {wall / 60:.1f} min | <= {GOAL_MINUTES} min: "
                     f"{'within' if wall <= GOAL_MINUTES * 60 else 'over'} |")
        lines.append(f"| every runbook passed | {passed} | |")
    if wall is None:  # one after another in one sandbox: the phase took about the sum
        lines.append(f"| whole library, unsharded (the sum: verified one after another) | {total / 60:.1f} min "
                     f"| <= {GOAL_MINUTES} min: {'within' if total <= GOAL_MINUTES * 60 else 'over'} |")
    else:
        lines.append(f"| sum of the runbooks' times | {total / 60:.1f} min | |")
    if parts is not None:
        labels = (("steps", "the runbooks' own steps"),
                  ("before", "checks before the steps: control run, fault, alerts firing"),
                  ("after", "checks after: healthy, symptom gone, alerts resolved"),
                  ("rest", "the rest: sandbox reset, kernel start" if "before" in parts else
                   "the rest: reset, control run, fault, alert waits, postconditions, kernel"))
        for key, label in ((k, v) for k, v in labels if k in parts):
            lines.append(f"| {label} | {parts[key] / 60:.1f} min ({parts[key] / max(total, 1e-9):.0%}) | |")
    lines += ["", "Shards: the split `--shard I/N` makes from the prior durations; *measured* sums this run's",
              "times of each shard's runbooks.", "",
              "| N | predicted slowest | measured slowest | total/N | measured / (total/N) | goal <= 1.2 |",
              "| ---: | ---: | ---: | ---: | ---: | --- |", *shard_rows(measured, prior), "",
              "Slowest runbooks:", "", "| runbook | time |", "| --- | ---: |"]
    for rid in sorted(measured, key=lambda r: -measured[r])[:8]:
        lines.append(f"| {rid} | {measured[rid]:.0f} s |")
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        record_section(section)
        print(f"updated {RESULTS}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
