"""mkdocs event handlers: add runbooks and generated indexes as pages, check alert runbook_urls.

`hooks/runbooks.py` re-exports these. Paths come from the mkdocs config file's folder, never
from the working directory. Settings (all optional) live under `extra.opsbook` in mkdocs.yml:

    extra:
      opsbook:
        runbooks_dir: runbooks                        # the runbook files
        alert_rules: monitoring/prometheus/alerts     # Prometheus rule files (*.yml, *.yaml)
        status_file: build/verify/status.json         # written by `opsbook verify`
        stale_after_days: 7                           # a pass older than this shows as stale

The environment variables OPSBOOK_STATUS and OPSBOOK_STALE_AFTER_DAYS override the last two.
Collect, then render: pages are generated in on_files; the anchors of every rendered page are
collected in on_page_content (keyed by page URL); the runbook_url check runs in on_env.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from opsbook.discover import runbook_files
from opsbook.errors import FormatProblem, RunbookFormatError
from opsbook.model import Runbook
from opsbook.parse import load_runbook
from opsbook.site import render
from opsbook.site.alerts import AlertRule, load_alert_rules
from opsbook.site.anchors import anchors_in, check_runbook_urls
from opsbook.site.status import StatusFileError, VerificationStatus, read_status

log = logging.getLogger("mkdocs.plugins.opsbook")

FILE_WORKER = "assets/javascripts/opsbook-file-worker.js"
DEFAULTS: Mapping[str, Any] = {
    "runbooks_dir": "runbooks",
    "alert_rules": "monitoring/prometheus/alerts",
    "status_file": "build/verify/status.json",
    "stale_after_days": 7,
}


@dataclass(frozen=True)
class SiteSettings:
    project_dir: Path
    runbooks_dir: Path
    alert_rules: Path
    status_file: Path
    stale_after_days: int

    @classmethod
    def from_config(cls, config: MkDocsConfig, environ: Mapping[str, str]) -> SiteSettings:
        project_dir = Path(config.config_file_path or config.docs_dir).resolve()
        if project_dir.is_file():
            project_dir = project_dir.parent
        options = {**DEFAULTS, **(config.extra.get("opsbook") or {})}
        status = environ.get("OPSBOOK_STATUS") or str(options["status_file"])
        stale = environ.get("OPSBOOK_STALE_AFTER_DAYS") or options["stale_after_days"]
        try:
            stale_days = int(stale)
        except (TypeError, ValueError):
            raise_config(f"stale_after_days must be a whole number of days, not {stale!r}")
        return cls(
            project_dir=project_dir,
            runbooks_dir=project_dir / str(options["runbooks_dir"]),
            alert_rules=project_dir / str(options["alert_rules"]),
            status_file=project_dir / status,
            stale_after_days=stale_days,
        )

    def label(self, path: Path) -> str:
        """A path as the person who wrote mkdocs.yml knows it: relative to its folder."""
        try:
            return path.resolve().relative_to(self.project_dir).as_posix()
        except ValueError:
            return str(path)


def raise_config(message: str) -> Any:
    from mkdocs.exceptions import PluginError

    raise PluginError(f"opsbook: {message}")


@dataclass
class SiteBuild:
    """What one build collected; replaced at every (re)build by on_config."""

    settings: SiteSettings
    runbooks: list[Runbook] = field(default_factory=list)
    rules: list[AlertRule] = field(default_factory=list)
    status: VerificationStatus | None = None
    anchors: dict[str, set[str]] = field(default_factory=dict)


_build: SiteBuild | None = None


def _current() -> SiteBuild:
    if _build is None:
        raise_config("the opsbook hooks ran out of order (on_config did not run)")
    assert _build is not None
    return _build


@event_priority(-50)  # after the offline plugin has added its polyfills
def on_config(config: MkDocsConfig) -> MkDocsConfig:
    global _build
    _build = SiteBuild(SiteSettings.from_config(config, os.environ))
    # The offline plugin loads a Worker shim from a CDN so that search works from file://; an
    # offline site must not depend on the network, so we serve our own shim instead.
    polyfills = [p for p in config.extra.get("polyfills", []) if "iframe-worker" not in str(p)]
    config.extra["polyfills"] = [*polyfills, FILE_WORKER]
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    build = _current()
    settings = build.settings
    build.runbooks = load_runbooks(settings.runbooks_dir)
    build.status = load_status(settings)
    build.rules = load_rules(settings)
    ctx = render.RenderContext(
        now=datetime.now(timezone.utc),
        stale_after_days=settings.stale_after_days,
        status=build.status,
        rules=tuple(build.rules),
        rules_label=settings.label(settings.alert_rules),
        runbooks_label=settings.label(settings.runbooks_dir),
    )
    pages = generated_pages(build.runbooks, ctx)
    for src_uri, content in pages.items():
        if files.get_file_from_path(src_uri) is not None:
            log.warning(f"opsbook: docs/{src_uri} hides the generated page of the same path; rename it")
            continue
        files.append(File.generated(config, src_uri, content=content))
    if files.get_file_from_path(FILE_WORKER) is None:
        worker = resources.files("opsbook.site").joinpath("assets/file-worker.js").read_text(encoding="utf-8")
        files.append(File.generated(config, FILE_WORKER, content=worker))
    if config.nav is not None:
        config.nav = expand_nav(config.nav, build.runbooks, set(pages))
    log.info(
        f"opsbook: {len(build.runbooks)} runbooks, {len(build.rules)} alert rules, "
        f"status {'from ' + settings.label(settings.status_file) if build.status else 'none (never verified)'}"
    )
    return files


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    _current().anchors[page.url] = anchors_in(html)
    return html


def on_env(env: Any, config: MkDocsConfig, files: Files) -> Any:
    build = _current()
    dangling = check_runbook_urls(build.rules, config.site_url or "", build.anchors)
    for problem in dangling:
        log.warning(f"opsbook: dangling runbook_url: {problem}")
    if dangling:
        log.warning(
            f"opsbook: {len(dangling)} alert runbook_url(s) do not resolve to a page and anchor of this site "
            f"(site_url {config.site_url}); fix the rule or add the alert to the runbook's `alerts:`"
        )
    return env


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    settings = _current().settings
    for path in (settings.runbooks_dir, settings.alert_rules, settings.status_file.parent):
        if path.is_dir():
            server.watch(str(path))
    return server


# --- collecting -----------------------------------------------------------------------------


PARALLEL_FROM = 200
"""Parse in worker processes from this many runbooks on (parsing dominates big builds)."""


def load_runbooks(root: Path) -> list[Runbook]:
    """Every runbook that parses; each problem of the others is logged with file and line."""
    if not root.is_dir():
        log.info(f"opsbook: no runbooks folder at {root}")
        return []
    paths = runbook_files([root])  # the same files `opsbook list` and `opsbook verify` see
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
    try:
        status = read_status(settings.status_file)
    except StatusFileError as exc:
        log.warning(f"opsbook: ignoring verification status: {exc}")
        return None
    if status is None:
        log.info(f"opsbook: no {settings.label(settings.status_file)}: every runbook shows as never verified")
    return status


def load_rules(settings: SiteSettings) -> list[AlertRule]:
    rules, errors = load_alert_rules(settings.alert_rules)
    for error in errors:
        log.warning(f"opsbook: {error}")
    return rules


def generated_pages(runbooks: list[Runbook], ctx: render.RenderContext) -> dict[str, str]:
    """src_uri → Markdown of every page the hooks add to the site."""
    pages: dict[str, str] = {}
    for runbook in runbooks:
        pages[render.runbook_page_path(runbook.id)] = render.runbook_page(runbook, ctx)
    for area in sorted({render.area_of(rb.id) for rb in runbooks} - {""}):
        pages.setdefault(render.area_page_path(area), render.area_page(area, runbooks, ctx))
    pages[render.RUNBOOKS_PAGE] = render.runbooks_page(runbooks, ctx)
    pages[render.ALERTS_PAGE] = render.alerts_page(runbooks, ctx)
    pages[render.SERVICES_PAGE] = render.services_page(runbooks, ctx)
    pages[render.QUICK_START_PAGE] = render.quick_start_page(runbooks, ctx)
    pages[render.TAGS_PAGE] = render.tags_page()
    return pages


# --- navigation -----------------------------------------------------------------------------

_AREA_ENTRY = re.compile(r"^runbooks/([^/]+)/$")


def expand_nav(nav: list[Any], runbooks: list[Runbook], generated: set[str]) -> list[Any]:
    """Replace nav entries `Title: runbooks/<area>/` by that area's pages and `Title: runbooks/`
    by every area; areas the nav does not name are added after the last area it does name."""
    by_area: dict[str, list[Runbook]] = {}
    for rb in sorted(runbooks, key=lambda r: r.title.lower()):
        by_area.setdefault(render.area_of(rb.id), []).append(rb)

    def area_section(area: str) -> list[Any]:
        items: list[Any] = []
        index = render.area_page_path(area)
        if area and index in generated:
            items.append(index)
        items.extend({rb.title: render.runbook_page_path(rb.id)} for rb in by_area.get(area, []))
        return items

    named: set[str] = set()
    for entry in _walk(nav):
        if entry == "runbooks/":
            named.update(by_area)
        match = _AREA_ENTRY.match(entry) if isinstance(entry, str) else None
        if match:
            named.add(match.group(1))
    unnamed = [a for a in sorted(by_area) if a not in named]

    def expand(items: list[Any]) -> list[Any]:
        result: list[Any] = []
        last_area = -1
        for item in items:
            if isinstance(item, dict) and len(item) == 1:
                (title, value), = item.items()
                if value == "runbooks/":
                    sections: list[Any] = [render.RUNBOOKS_PAGE] if render.RUNBOOKS_PAGE in generated else []
                    sections += [{render.area_title(a): area_section(a)} for a in sorted(by_area)]
                    result.append({title: sections})
                    continue
                match = _AREA_ENTRY.match(value) if isinstance(value, str) else None
                if match:
                    result.append({title: area_section(match.group(1))})
                    last_area = len(result)
                    continue
                if isinstance(value, list):
                    result.append({title: expand(value)})
                    continue
            result.append(item)
        if last_area >= 0 and unnamed:
            result[last_area:last_area] = [{render.area_title(a): area_section(a)} for a in unnamed]
            unnamed.clear()
        return result

    return expand(nav)


def _walk(nav: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(nav, list):
        for item in nav:
            found.extend(_walk(item))
    elif isinstance(nav, dict):
        for value in nav.values():
            found.extend(_walk(value))
    else:
        found.append(nav)
    return found
