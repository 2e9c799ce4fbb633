"""The opsbook mkdocs plugin: runbooks and generated indexes as pages, alert runbook_urls checked.

Registered as the `mkdocs.plugins` entry point `opsbook` (`plugins: [opsbook]`), and used by this
project through the thin adapter `hooks/runbooks.py`. Collect, then render: pages are generated in
on_files; their front matter is marked as escaped text in on_page_markdown; the anchors of every
rendered page are collected in on_page_content (keyed by page URL); the runbook_url check runs in
on_env. State lives on the plugin, replaced at every build.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from typing import Any

from markupsafe import Markup
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from opsbook.runbook.model import Runbook
from opsbook.site import render
from opsbook.site.alerts import AlertRule
from opsbook.site.anchors import anchors_in, check_runbook_urls, unchecked_runbook_urls
from opsbook.site.config import OpsbookConfig, SiteSettings
from opsbook.site.nav import expand_nav
from opsbook.site.pages import generated_pages, load_alert_proofs, load_rules, load_runbooks, load_status
from opsbook.verify.status import VerificationStatus

log = logging.getLogger("mkdocs.plugins.opsbook")

FILE_WORKER = "assets/javascripts/opsbook-file-worker.js"


@dataclass
class SiteBuild:
    """What one build collected; replaced at every (re)build by on_config."""

    settings: SiteSettings
    runbooks: list[Runbook] = field(default_factory=list)
    rules: list[AlertRule] = field(default_factory=list)
    status: VerificationStatus | None = None
    anchors: dict[str, set[str]] = field(default_factory=dict)
    generated: set[str] = field(default_factory=set)
    """src_uri of every page this plugin added."""


class OpsbookPlugin(BasePlugin[OpsbookConfig]):
    """Adds every runbook, the alerts, services, quick-start and tags pages; checks runbook_urls."""

    def __init__(self) -> None:
        self.build: SiteBuild | None = None
        self.environ: Mapping[str, str] = os.environ

    def configure(self, options: Mapping[str, Any], config_file_path: str | None) -> None:
        """Load `options` (what `plugins: [opsbook: {...}]` or `extra.opsbook` holds) as this plugin's config."""
        errors, warnings = self.load_config(dict(options), config_file_path)
        for key, warning in warnings:
            log.warning(f"opsbook: option {key!r}: {warning}")
        if errors:
            raise PluginError("opsbook: " + "; ".join(f"option {key!r}: {error}" for key, error in errors))

    def current(self) -> SiteBuild:
        if self.build is None:
            raise PluginError("opsbook: the plugin's events ran out of order (on_config did not run)")
        return self.build

    @event_priority(-50)  # after the offline plugin has added its polyfills
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        self.build = SiteBuild(SiteSettings.from_config(config, self.config, self.environ))
        # The offline plugin loads a Worker shim from a CDN so that search works from file://; an
        # offline site must not depend on the network, so we serve our own shim instead.
        polyfills = [p for p in config.extra.get("polyfills", []) if "iframe-worker" not in str(p)]
        config.extra["polyfills"] = [*polyfills, FILE_WORKER]
        return config

    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        build = self.current()
        settings = build.settings
        build.runbooks = load_runbooks(settings.runbooks_dir, settings.exclude)
        build.status = load_status(settings)
        build.rules = load_rules(settings)
        ctx = render.RenderContext(
            now=datetime.now(timezone.utc),
            stale_after_days=settings.stale_after_days,
            status=build.status,
            rules=tuple(build.rules),
            rules_label=settings.label(settings.alert_rules),
            runbooks_label=settings.label(settings.runbooks_dir),
            runbooks_elsewhere=settings.external_runbook_prefixes,
            proofs=load_alert_proofs(settings),
        )
        guide = render.INCIDENT_GUIDE_PAGE if files.get_file_from_path(render.INCIDENT_GUIDE_PAGE) else None
        pages = generated_pages(build.runbooks, ctx, guide)
        for src_uri, content in pages.items():
            if files.get_file_from_path(src_uri) is not None:
                log.warning(f"opsbook: docs/{src_uri} hides the generated page of the same path; rename it")
                continue
            files.append(File.generated(config, src_uri, content=content))
            build.generated.add(src_uri)
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

    def on_page_markdown(self, markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        # Generated front matter is escaped text (render.page_text), which the templates print as it
        # is; as Markup, a template's own `| e` (Material's footer) does not escape it a second time.
        if page.file.src_uri in self.current().generated:
            for key in ("title", "description"):
                if isinstance(page.meta.get(key), str):
                    page.meta[key] = Markup(page.meta[key])
        return markdown

    def on_page_content(self, html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        self.current().anchors[page.url] = anchors_in(html)
        return html


    def on_env(self, env: Any, config: MkDocsConfig, files: Files) -> Any:
        build = self.current()
        elsewhere = build.settings.external_runbook_prefixes
        for note in unchecked_runbook_urls(build.rules, elsewhere):
            log.info(f"opsbook: {note}")
        dangling = check_runbook_urls(build.rules, config.site_url or "", build.anchors, elsewhere)
        for problem in dangling:
            log.warning(f"opsbook: dangling runbook_url: {problem}")
        if dangling:
            log.warning(
                f"opsbook: {len(dangling)} alert runbook_url(s) do not resolve to a page and anchor of this site "
                f"(site_url {config.site_url}); fix the rule or add the alert to the runbook's `alerts:`"
            )
        return env


    def on_serve(self, server: Any, config: MkDocsConfig, builder: Any) -> Any:
        settings = self.current().settings
        for path in (settings.runbooks_dir, settings.alert_rules, settings.status_file.parent):
            if path.is_dir():
                server.watch(str(path))
        return server
