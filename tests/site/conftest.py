"""Site fixtures: sample runbooks, status and rules for the pure renderer and its golden files; the real
site built with mkdocs (in a subprocess, from another folder) and driven in Chromium."""

from __future__ import annotations

import functools
import os
import http.server
import json
import threading
from pathlib import Path

import pytest

from opsbook.runbook.model import Runbook
from opsbook.site.alerts import AlertRule
from opsbook.site.render import RenderContext
from opsbook.verify.status import status_from_document
from tests.site.fixture_project import HOSTILE_NAV, HOSTILE_RULES, HOSTILE_RUNBOOKS, HOSTILE_SETTINGS, fixture_project
from tests.support.render_samples import GOLDEN_DIR, NOW, sample_runbooks, status_document
from tests.support.site import CHROMIUM, CHROMIUM_ARGS, REPO, mkdocs_build, synthetic_status


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
    yield from _served(real_site)


@pytest.fixture(scope="session")
def hostile_site(tmp_path_factory) -> Path:
    """A fixture project, built strictly, whose runbook holds markup in every header field and whose
    rule file holds markup in alert names, a severity, a summary and an external runbook_url."""
    work = tmp_path_factory.mktemp("hostile-site")
    config = fixture_project(work, HOSTILE_RULES, runbooks=("runbook-files", HOSTILE_RUNBOOKS),
                             settings=HOSTILE_SETTINGS, nav=HOSTILE_NAV)
    site = work / "site"
    result = mkdocs_build(config, site, cwd=work)
    assert result.returncode == 0, result.stderr
    return site


@pytest.fixture(scope="session")
def hostile_site_url(hostile_site: Path):
    yield from _served(hostile_site)


def _served(site: Path):
    handler = functools.partial(_QuietHandler, directory=str(site))
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


@pytest.fixture
def runbooks() -> list[Runbook]:
    return sample_runbooks()


@pytest.fixture
def rules() -> tuple[AlertRule, ...]:
    rules_file = Path("monitoring/prometheus/alerts/platform.yml")
    return (
        AlertRule("WorkerQueueBackedUp", rules_file, 5, "critical", "More than 1000 jobs waiting",
                  "https://runbooks.example.com/runbooks/incidents/worker-queue-backed-up/#alert-workerqueuebackedup",
                  labels=(("severity", "critical"), ("category", "major")),
                  annotations=(("threshold", "More than 1000 jobs queued for 5 minutes."),), for_="5m"),
        AlertRule("HighErrorRate", rules_file, 14, "warning", "5xx above 5%",
                  "https://runbooks.example.com/alerts/#higherrorrate"),
        AlertRule("PostgresDown", rules_file, 22, "critical", "", ""),
    )


@pytest.fixture
def ctx(rules: tuple[AlertRule, ...]) -> RenderContext:
    return RenderContext(now=NOW, stale_after_days=7, status=status_from_document(status_document()), rules=rules)


@pytest.fixture
def golden():
    """Compare text with tests/golden/site/<name>; UPDATE_GOLDEN=1 rewrites the file instead."""

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if os.environ.get("UPDATE_GOLDEN") == "1":
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"no golden file {path}; create it with UPDATE_GOLDEN=1 and review it"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept the new output)"

    return check
