"""Benchmark: site build time with the opsbook hooks vs. the same pages in plain mkdocs-material.

Generates N runbooks (default 1,000) with a status.json recording every step's output, then times
`mkdocs build` of (a) the opsbook site: hooks parse the runbooks and render runbook pages, step
cards, CI outputs and the alerts/services/quick-start indexes; (b) plain mkdocs-material with the
same theme, plugins and Markdown extensions, whose docs/ holds the same runbooks as plain Markdown
(header removed, steps as ordinary code blocks). Both builds run in fresh processes, alternating;
the best of --repeat runs of each counts. Prints the ratio and, with --record, writes the "## Site" section of
bench/RESULTS.md (other sections are kept).

    python bench/bench_site.py [--runbooks 1000] [--repeat 3] [--record]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from support import (RESULTS, ROOT, WORK, cpus, format_range, format_ratio, load_average, ratio, record_section,
                     runbook_header, timed_call, today)

SITE = WORK / "site"
AREAS = ("deployment", "incidents", "database", "network", "storage")
GOAL = 2.0


def header(i: int, title: str, team: int, sev: int, svc: int, area: str) -> str:
    """The YAML header of synthetic runbook ``i``."""
    return runbook_header(
        title,
        summary=f"Synthetic runbook {i} for the site benchmark; restart, check, drain and verify.",
        owner=f"team-{team}",
        severity=f"SEV{sev}",
        services=f"[app, worker-{svc}]",
        alerts=f"[BenchAlert{i}]",
        tags=f"[bench, {area}]",
        timeout="120",
    )


BODY = """
# {title}

**You are here because** `BenchAlert{i}` fired. This runbook checks the queue, finds why the
worker stopped, restarts it and watches the backlog drain. Read each step before running it.

## Diagnose

Confirm the backlog is real and growing; compare with the alert's threshold of {i} jobs.

```bash name="check-{i}" role="diagnose" timeout=30 output="depth: \\\\d+"
depth=$(redis-cli -u "$REDIS_URL" llen jobs)
echo "depth: $depth"
test "$depth" -gt {i}
```

```bash name="find-cause" role="diagnose"
docker compose ps worker --format json | jq -r '.State'
docker compose logs --tail 50 worker | grep -i error || true
```

## Remediate

Restarting the worker is safe: jobs stay in Redis until a worker acknowledges them.

```bash name="restart-worker" role="remediate" destructive=true timeout=90
docker compose restart worker
```

```bash name="page-owner" ci="skip: needs the production pager"
pager --team team-{team} --message "runbook {i} in progress"
```

## Verify

```bash name="watch-drain" role="verify" retry={{"attempts": 5, "delay": 2}}
for i in 1 2 3; do redis-cli -u "$REDIS_URL" llen jobs; sleep 1; done
```

When the queue is below 10 jobs, the incident is over; write the post-mortem from the transcript.
"""


def generate(n: int, root: Path) -> tuple[Path, Path]:
    """Write the opsbook project and the plain-Markdown project; return both mkdocs.yml paths."""
    if root.exists():
        shutil.rmtree(root)
    ours, plain = root / "opsbook", root / "plain"
    for project in (ours, plain):
        (project / "docs/stylesheets").mkdir(parents=True)
        shutil.copy(ROOT / "docs/stylesheets/opsbook.css", project / "docs/stylesheets/")
        (project / "docs/index.md").write_text("# Benchmark site\n")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    status: dict = {"schema": "opsbook-status/1", "generated_at": now, "commit": "0" * 40, "runbooks": {}}
    rules = ["groups:", "  - name: bench", "    rules:"]
    for i in range(n):
        area = AREAS[i % len(AREAS)]
        rid = f"{area}/runbook-{i:04d}"
        fields: dict[str, Any] = dict(i=i, title=f"Bench runbook {i}: worker backlog in shard {i % 37}", team=i % 11,
                                      sev=1 + i % 4, svc=i % 7, area=area)
        body = BODY.format(**fields)
        path = ours / "runbooks" / f"{rid}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header(**fields) + body)
        plain_page = plain / "docs/runbooks" / f"{rid}.md"
        plain_page.parent.mkdir(parents=True, exist_ok=True)
        plain_page.write_text(re.sub(r"```bash [^\n]*", "```bash", body))
        steps = [{"name": name, "status": "passed", "exit_status": 0, "duration": 0.5,
                  "output": f"depth: {i}\nworker restarted <ok>\n" * 3}
                 for name in (f"check-{i}", "find-cause", "restart-worker", "watch-drain")]
        status["runbooks"][rid] = {"id": rid, "title": fields["title"], "result": "passed", "verified_at": now,
                                   "commit": "0" * 40, "duration": 10.0, "message": "",
                                   "cases": [{"case": "default", "result": "passed", "scenario": None,
                                              "alerts": {}, "steps": steps}]}
        rules += [f"      - alert: BenchAlert{i}", "        expr: vector(1)",
                  "        annotations:",
                  f"          runbook_url: https://runbooks.example.com/runbooks/{rid}/#alert-benchalert{i}"]
    (ours / "status.json").write_text(json.dumps(status))
    (ours / "monitoring/prometheus/alerts").mkdir(parents=True)
    (ours / "monitoring/prometheus/alerts/bench.yml").write_text("\n".join(rules) + "\n")

    config = (ROOT / "mkdocs.yml").read_text()
    config = config[: config.index("\nnav:")] + "\n"
    # The baseline gets mkdocs' automatic nav (a section per folder); the opsbook site the same
    # shape the way the real mkdocs.yml asks for it: one `Area: runbooks/<area>/` entry per area.
    nav = "nav:\n  - index.md\n" + "".join(f"  - {a.capitalize()}: runbooks/{a}/\n" for a in AREAS)
    (ours / "mkdocs.yml").write_text(
        config.replace("hooks/runbooks.py", str(ROOT / "hooks/runbooks.py"))
        .replace("build/verify/status.json", "status.json") + nav
    )
    (plain / "mkdocs.yml").write_text(re.sub(r"\nhooks:\n  - hooks/runbooks.py\n", "\n", config))
    return ours / "mkdocs.yml", plain / "mkdocs.yml"


def build_seconds(config: Path) -> float:
    """One fresh `mkdocs build --strict` process of ``config``, timed."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("OPSBOOK_STATUS", None)
    result, elapsed = timed_call(lambda: subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(config.parent / "site")],
        cwd=config.parent, env=env, capture_output=True, text=True))
    if result.returncode != 0:
        raise SystemExit(f"build of {config} failed:\n{result.stderr[-3000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runbooks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="write the result to bench/RESULTS.md")
    args = parser.parse_args()
    print(f"generating {args.runbooks} runbooks in {SITE} ...", flush=True)
    ours, plain = generate(args.runbooks, SITE)
    # Alternate the two builds so that a busy moment of the machine hits both alike.
    plain_runs, ours_runs = [], []
    for run in range(1, args.repeat + 1):
        plain_runs.append(build_seconds(plain))
        ours_runs.append(build_seconds(ours))
        print(f"run {run}: plain mkdocs-material {plain_runs[-1]:.2f} s, opsbook site {ours_runs[-1]:.2f} s", flush=True)
    baseline, opsbook = min(plain_runs), min(ours_runs)
    times = ratio(opsbook, baseline)
    verdict = "within" if times <= GOAL else "OVER"
    print(f"ratio {format_ratio(opsbook, baseline)} ({verdict} the {GOAL:.0f}x goal)")
    if args.record:
        import mkdocs
        import material

        section = (
            "## Site\n\n"
            f"`python bench/bench_site.py --runbooks {args.runbooks} --repeat {args.repeat} --record` "
            f"({today()}; {platform.python_implementation()} {platform.python_version()}, "
            f"mkdocs {mkdocs.__version__}, mkdocs-material {material.__version__}, {cpus()}; "
            f"best of {args.repeat} fresh `mkdocs build --strict` processes of each, alternating).\n\n"
            "| build | seconds |\n| --- | --- |\n"
            f"| plain mkdocs-material, the same {args.runbooks} pages as plain Markdown | {baseline:.2f} |\n"
            f"| opsbook site: {args.runbooks} runbooks parsed, step cards, CI outputs, indexes, runbook_url check "
            f"| {opsbook:.2f} |\n"
            f"| **ratio** | **{format_ratio(opsbook, baseline)}** (goal ≤ {GOAL:.0f}x: {verdict}) |\n\n"
            "Both builds use the same theme, plugins (search, tags, offline) and Markdown extensions. "
            "The opsbook site renders more per page than the baseline (badges, a CI output block per step, "
            "per-step commands) and adds the alerts, services, quick-start and area index pages. "
            f"All runs: plain {format_range(plain_runs)} s, opsbook {format_range(ours_runs)} s; "
            f"load average {load_average():.1f} at the end. Material's nav template "
            "costs more per nav entry when pages carry front matter (tags, description), as runbook pages do.\n\n"
        )
        record_section(section)
        print(f"recorded in {RESULTS}")
    return 0 if times <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
