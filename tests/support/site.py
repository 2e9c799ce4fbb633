"""Helpers of the site tests: a synthetic status.json and `mkdocs build` run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from opsbook.runbook.discover import runbook_files
from opsbook.runbook.discover import load_runbook

from tests.support import REPO

FIXTURES = REPO / "tests" / "site" / "fixtures"
MARKUP_OUTPUT = "deploying\n<script>alert(1)</script>\n</code></pre><b>bold?</b> {{ config.site_name }}\n"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def synthetic_status(runbooks_dir: Path, *, markup_in: str = "deployment/deploy") -> dict:
    """A status.json (opsbook-status/1) in which every runbook passed just now, every step printed
    `ok <step>`, and the first step of `markup_in` printed HTML, a script and template syntax."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    runbooks = {}
    for path in runbook_files([runbooks_dir]):
        rb = load_runbook(path, runbooks_dir)
        steps = [{"name": s.name, "status": "skipped" if s.options.ci == "skip" else "passed",
                  "exit_status": None if s.options.ci == "skip" else 0, "duration": 0.5,
                  "output": "" if s.options.ci == "skip" else f"ok {s.name}\n"} for s in rb.steps]
        if rb.id == markup_in and steps:
            steps[0]["output"] = MARKUP_OUTPUT
        runbooks[rb.id] = {
            "id": rb.id, "title": rb.title, "result": "passed", "verified_at": now,
            "commit": "0123456789abcdef", "duration": 12.0, "message": "",
            "cases": [{"case": "default", "result": "passed", "scenario": rb.scenario,
                       "alerts": {a: {"fired": True, "resolved": True} for a in rb.alerts}, "steps": steps}],
        }
    return {"schema": "opsbook-status/1", "generated_at": now, "commit": "0123456789abcdef", "runbooks": runbooks}


def mkdocs_build(config_file: Path, site_dir: Path, *, strict: bool = True, status: Path | None = None,
                 cwd: Path) -> subprocess.CompletedProcess[str]:
    """`mkdocs build` as a user runs it, but from `cwd` (so paths must come from the config)."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("OPSBOOK_STATUS", None)
    if status is not None:
        env["OPSBOOK_STATUS"] = str(status)
    command = [sys.executable, "-m", "mkdocs", "build", "-f", str(config_file), "-d", str(site_dir)]
    if strict:
        command.append("--strict")
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
