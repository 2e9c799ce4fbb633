"""Runbook model + status → page Markdown, compared with golden files (UPDATE_GOLDEN=1 rewrites)."""

from __future__ import annotations

import dataclasses

import markdown

from opsbook.site import render


def test_runbook_page_with_failed_verification(runbooks, ctx, golden):
    golden("runbook-failed.md", render.runbook_page(runbooks[0], ctx))


def test_runbook_page_stale_with_two_cases(runbooks, ctx, golden):
    golden("runbook-stale.md", render.runbook_page(runbooks[1], ctx))


def test_runbook_page_never_verified(runbooks, ctx, golden):
    golden("runbook-never-verified.md", render.runbook_page(runbooks[2], ctx))


def test_runbook_page_without_status_file(runbooks, ctx, golden):
    no_status = dataclasses.replace(ctx, status=None)
    assert render.runbook_page(runbooks[2], no_status) == render.runbook_page(runbooks[2], ctx)
    assert "Never verified" in render.runbook_page(runbooks[0], no_status)


def test_alerts_index(runbooks, ctx, golden):
    golden("alerts.md", render.alerts_page(runbooks, ctx))


def test_alerts_index_says_how_each_alert_is_proved(runbooks, ctx, golden):
    proofs = render.AlertProofs(fired_by={"WorkerQueueBackedUp": ("worker-stuck",)},
                                unit_tested_only={"HighErrorRate": "Needs <two> hours."})
    page = render.alerts_page(runbooks, dataclasses.replace(ctx, proofs=proofs))
    golden("alerts-proofs.md", page)
    assert "Fired live in the sandbox: 1 of 4" in page and "Needs &#60;two&#62; hours." in page
    assert "not proved" in page  # PostgresDown: neither fired nor listed


def test_services_index(runbooks, ctx, golden):
    golden("services.md", render.services_page(runbooks, ctx))


def test_quick_start(runbooks, ctx, golden):
    page = render.quick_start_page(runbooks, ctx, render.INCIDENT_GUIDE_PAGE)
    golden("quick-start.md", page)
    body = page.split("# Incident quick start\n", 1)[1]
    assert body.lstrip().startswith("1. **See what is firing: `opsbook alerts`.**")
    assert body.index("opsbook alerts") < body.index("opsbook run --alert NAME") < body.index("## SEV1")
    assert "[incident response guide](../incident-response.md)" in body  # relative to quick-start/index.md
    html = markdown.markdown(body.split("\n## ", 1)[0], extensions=["pymdownx.superfences", "pymdownx.keys"])
    assert html.count("<li>") == 5 and "\n2. " not in html, html  # five items, none swallowed by the one above


def test_quick_start_of_a_site_without_an_incident_guide_does_not_link_one(runbooks, ctx):
    page = render.quick_start_page(runbooks, ctx)
    assert "incident-response" not in page and "Declare and communicate" not in page
    assert page.split("# Incident quick start\n", 1)[1].lstrip().startswith("1. **See what is firing: `opsbook alerts`.**")
    assert "\n4. **Escalate**" in page  # the items are numbered without a gap


def test_runbooks_and_area_index(runbooks, ctx, golden):
    golden("runbooks.md", render.runbooks_page(runbooks, ctx))
    golden("area-incidents.md", render.area_page("incidents", runbooks, ctx))


def test_the_quick_start_page_puts_the_emergency_rollback_first(ctx):
    """The real library's emergency rollback (tagged `emergency`) comes before anything else."""
    from pathlib import Path

    from opsbook.runbook.discover import find_runbooks

    library = find_runbooks(Path(__file__).resolve().parents[2] / "runbooks").runbooks
    assert any("emergency" in rb.tags for rb in library)
    body = render.quick_start_page(library, ctx).split("# Incident quick start\n", 1)[1]
    first = body.lstrip().splitlines()[0]
    assert first.startswith("**First, if it started with a change: [Emergency rollback](")
    assert body.index("opsbook run deployment/emergency-rollback --target production") < body.index("1. ")
