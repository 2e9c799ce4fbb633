"""Collect what the site shows (runbooks, alert rules, verification status) and generate its pages."""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from opsbook.errors import FormatProblem, RunbookFormatError, SandboxError, StatusFileError
from opsbook.runbook.discover import DEFAULT_EXCLUDE, load_runbook, runbook_files
from opsbook.runbook.model import Runbook
from opsbook.sandbox.faults import load_faults, load_unit_tested_only
from opsbook.site import render
from opsbook.site.alerts import AlertRule, load_alert_rules
from opsbook.site.config import SiteSettings
from opsbook.verify.status import VerificationStatus, read_status

log = logging.getLogger("mkdocs.plugins.opsbook")


PARALLEL_FROM = 200
"""Parse in worker processes from this many runbooks on (parsing dominates big builds)."""


def load_runbooks(root: Path, exclude: Sequence[str] = DEFAULT_EXCLUDE) -> list[Runbook]:
    """Every runbook that parses; each problem of the others is logged with file and line."""
    if not root.is_dir():
        log.info(f"opsbook: no runbooks folder at {root}")
        return []
    paths = runbook_files([root], exclude)  # the same files `opsbook list` and `opsbook verify` see
    workers = min(os.cpu_count() or 1, 8)
    if len(paths) >= PARALLEL_FROM and workers > 1:
        # spawn, not fork: `mkdocs serve` runs threads, and forking a threaded process is unsafe.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_parse_one, paths, [root] * len(paths), chunksize=max(1, len(paths) // (workers * 4))))
    else:
        results = [_parse_one(path, root) for path in paths]
    runbooks: list[Runbook] = []
    for result in results:
        if isinstance(result, Runbook):
            runbooks.append(result)
        else:
            for problem in result:
                log.error(f"opsbook: {problem}")
    return runbooks


def _parse_one(path: Path, root: Path) -> Runbook | list[FormatProblem]:
    """Runbook or its problems (returned, not raised: the error type does not survive pickling)."""
    try:
        return load_runbook(path, root)
    except RunbookFormatError as exc:
        return exc.problems


def load_status(settings: SiteSettings) -> VerificationStatus | None:
    """The last verification results, or None (every runbook then shows as never verified)."""
    try:
        status = read_status(settings.status_file)
    except StatusFileError as exc:
        log.warning(f"opsbook: ignoring verification status: {exc}")
        return None
    if status is None:
        log.info(f"opsbook: no {settings.label(settings.status_file)}: every runbook shows as never verified")
    return status


def load_rules(settings: SiteSettings) -> list[AlertRule]:
    """The alerting rules; a rule file that cannot be read is logged and left out."""
    found = load_alert_rules(settings.alert_rules)
    for note in found.notes:
        log.info(f"opsbook: {note}")
    for error in found.errors:
        log.warning(f"opsbook: {error}")
    return found.rules


def load_alert_proofs(settings: SiteSettings) -> render.AlertProofs | None:
    """Which fault fires each alert live, and why the others are unit-tested only (None: no faults)."""
    if settings.faults_dir is None or not settings.faults_dir.is_dir():
        return None
    try:
        faults = load_faults(settings.faults_dir)
        unit_only = load_unit_tested_only(settings.faults_dir)
    except SandboxError as exc:
        log.warning(f"opsbook: {exc}")
        return None
    fired: dict[str, list[str]] = {}
    for fault in faults:
        for alert in fault.alerts:
            fired.setdefault(alert, []).append(fault.name)
    return render.AlertProofs(fired_by={a: tuple(f) for a, f in fired.items()}, unit_tested_only=unit_only)


def generated_pages(runbooks: list[Runbook], ctx: render.RenderContext,
                    incident_guide: str | None = None) -> dict[str, str]:
    """src_uri → Markdown of every page the hooks add to the site; `incident_guide` is the src_uri
    of the site's incident response guide, which the quick start links to, if the site has one."""
    ctx = dataclasses.replace(ctx, runbook_ids=frozenset(rb.id for rb in runbooks))
    pages: dict[str, str] = {}
    for runbook in runbooks:
        pages[render.runbook_page_path(runbook.id)] = render.runbook_page(runbook, ctx)
    for area in sorted({render.area_of(rb.id) for rb in runbooks} - {""}):
        pages.setdefault(render.area_page_path(area), render.area_page(area, runbooks, ctx))
    pages[render.RUNBOOKS_PAGE] = render.runbooks_page(runbooks, ctx)
    pages[render.ALERTS_PAGE] = render.alerts_page(runbooks, ctx)
    pages[render.SERVICES_PAGE] = render.services_page(runbooks, ctx)
    pages[render.QUICK_START_PAGE] = render.quick_start_page(runbooks, ctx, incident_guide)
    pages[render.TAGS_PAGE] = render.tags_page()
    return pages
