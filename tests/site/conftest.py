"""Build the site with mkdocs (in a subprocess, from another folder) and drive it in Chromium."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from opsbook.discover import runbook_files
from opsbook.parse import load_runbook

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
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


@pytest.fixture(scope="session")
def real_site(tmp_path_factory) -> Path:
    """The repository's site, built strictly, with a status in which a step printed markup."""
    work = tmp_path_factory.mktemp("real-site")
    status = work / "status.json"
    status.write_text(json.dumps(synthetic_status(REPO / "runbooks")))
    site = work / "site"
    result = mkdocs_build(REPO / "mkdocs.yml", site, status=status, cwd=work)
    assert result.returncode == 0, result.stderr
    return site


@pytest.fixture(scope="session")
def site_url(real_site: Path):
    """The built site served over HTTP on the loopback interface."""
    handler = functools.partial(_QuietHandler, directory=str(real_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors, page errors and dialogs (alert() calls)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.problems = []
    tab.dialogs = []
    tab.on("console", lambda m: tab.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.problems.append(f"page error: {e}"))

    def on_dialog(dialog):
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    yield tab
    context.close()
