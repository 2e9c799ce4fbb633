"""The built site in a real headless Chromium: over HTTP and opened from disk (file://)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import pytest

pytestmark = pytest.mark.site


def _search(page, query: str) -> list[str]:
    """Type into Material's search box; return the result links (hrefs)."""
    page.wait_for_load_state("load")
    page.click("input.md-search__input")
    page.keyboard.type(query, delay=20)
    page.wait_for_selector(".md-search-result__item", timeout=20000)
    return page.eval_on_selector_all(".md-search-result__item > a", "els => els.map(e => e.href)")


def test_home_page_loads_without_console_errors(page, site_url):
    page.goto(site_url)
    page.wait_for_load_state("networkidle")
    assert "opsbook runbooks" in page.title()
    assert page.locator("a[href*='quick-start']").count() > 0
    assert page.problems == []


def test_searching_rollback_lists_the_deploy_runbook(page, site_url):
    page.goto(site_url)
    hrefs = _search(page, "rollback")
    assert any("runbooks/deployment/deploy/" in h for h in hrefs), hrefs
    assert page.problems == []


def test_search_finds_alert_names_and_commands(page, site_url):
    page.goto(site_url)
    assert any("worker-queue-backed-up" in h for h in _search(page, "WorkerQueueBackedUp"))
    page.goto(site_url)
    assert any("backup-restore" in h for h in _search(page, "pg_dump"))


def test_runbook_page_shows_steps_badges_and_ci_output(page, site_url):
    page.goto(urljoin(site_url, "runbooks/deployment/deploy/index.html"))
    assert page.locator("h1").inner_text().startswith("Deploy a new app version")
    steps = page.locator(".opsbook-step")
    assert steps.count() >= 3
    first = steps.first
    assert first.locator("h3").inner_text().startswith("1. pre-deploy-checks")
    badges = page.locator(".opsbook-badges").first.inner_text()
    assert "SEV3" in badges and "verified" in badges
    assert page.locator(".opsbook-badge--destructive").count() >= 1
    assert page.locator(".opsbook-badge--timeout").count() == steps.count()
    summary = first.locator("details.opsbook-output > summary").inner_text()
    assert summary.startswith("Output in CI on ")
    first.locator("details.opsbook-output > summary").click()
    assert first.locator(".opsbook-output__text").is_visible()
    assert "opsbook run deployment/deploy --target sandbox" in page.locator("#step-through-it ~ div").first.inner_text()
    # the step's command has a copy button
    first.scroll_into_view_if_needed()
    first.locator("div.highlight button[data-md-type='copy'], div.highlight .md-clipboard").first.wait_for(state="attached", timeout=10000)
    assert page.problems == []


def test_script_in_recorded_output_renders_as_text(page, site_url):
    page.goto(urljoin(site_url, "runbooks/deployment/deploy/index.html"))
    page.wait_for_load_state("networkidle")
    output = page.locator(".opsbook-step").first.locator(".opsbook-output__text")
    text = output.text_content()
    assert "<script>alert(1)</script>" in text
    assert "</code></pre><b>bold?</b> {{ config.site_name }}" in text
    assert output.locator("script, b").count() == 0
    assert page.dialogs == []


def test_alerts_index_links_resolve(page, site_url):
    page.goto(urljoin(site_url, "alerts/index.html"))
    rows = page.locator("table tbody tr")
    assert rows.count() >= 1
    assert page.locator("#workerqueuebackedup").count() == 1
    links = page.eval_on_selector_all("table tbody a[href*='runbooks/']", "els => els.map(e => e.href)")
    assert links, "the alerts index links no runbook"
    for href in sorted(set(links)):
        url, _, anchor = href.partition("#")
        response = page.goto(url)
        assert response is not None and response.ok, href
        if anchor:
            assert page.locator(f"[id='{anchor}']").count() == 1, href


def test_site_works_from_disk_with_search(page, real_site: Path):
    page.goto((real_site / "index.html").as_uri())
    page.wait_for_load_state("load")
    hrefs = _search(page, "rollback")
    assert any(h.startswith("file://") and "runbooks/deployment/deploy/index.html" in h for h in hrefs), hrefs
    page.goto((real_site / "runbooks/incidents/worker-queue-backed-up/index.html").as_uri())
    assert page.locator("#alert-workerqueuebackedup").count() == 1
    page.locator("article a[href*='alerts/index.html#workerqueuebackedup']").first.click()
    page.wait_for_load_state("load")
    assert page.url.startswith("file://") and "/alerts/index.html#workerqueuebackedup" in page.url
    assert page.locator("#workerqueuebackedup").is_visible()
    assert page.problems == []
    assert page.dialogs == []


def test_markup_in_runbook_and_rule_fields_runs_nothing(page, hostile_site_url):
    from tests.site.fixture_project import HOSTILE_TITLE

    runbook = urljoin(hostile_site_url, "runbooks/incidents/markup-everywhere/index.html")
    for path in ("index.html", "alerts/index.html", "services/index.html", "quick-start/index.html",
                 "runbooks/index.html", "tags/index.html", "runbooks/incidents/index.html"):
        page.goto(urljoin(hostile_site_url, path))
        page.wait_for_load_state("networkidle")
        assert page.locator("nav.md-nav--primary").first.get_by_text(HOSTILE_TITLE).count() >= 1, path
    page.goto(runbook)
    page.wait_for_load_state("networkidle")
    assert page.title() == f"{HOSTILE_TITLE} - opsbook runbooks"
    assert page.locator("h1").inner_text().startswith(HOSTILE_TITLE)
    assert page.locator("img[src='x'], [onerror]").count() == 0
    hrefs = _search(page, "Hostile")
    assert any("markup-everywhere" in h for h in hrefs), hrefs
    assert page.locator(".md-search-result img[src='x']").count() == 0
    assert page.dialogs == []
    assert page.problems == []
