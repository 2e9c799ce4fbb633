"""Runbook model + status → page Markdown, compared with golden files (UPDATE_GOLDEN=1 rewrites)."""

from __future__ import annotations

import dataclasses

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
    golden("quick-start.md", render.quick_start_page(runbooks, ctx))


def test_runbooks_and_area_index(runbooks, ctx, golden):
    golden("runbooks.md", render.runbooks_page(runbooks, ctx))
    golden("area-incidents.md", render.area_page("incidents", runbooks, ctx))
