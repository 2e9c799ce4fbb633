"""The site plugin's typed settings, and the paths they resolve to.

Settings are relative to the folder of mkdocs.yml, never to the working directory. With the
plugin (`plugins: [opsbook: {...}]`) they are its options; `hooks/runbooks.py` reads the same
keys from `extra.opsbook`. OPSBOOK_STATUS and OPSBOOK_STALE_AFTER_DAYS override status_file and
stale_after_days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError

from opsbook.runbook.discover import excluded_names, runbooks_dir
from opsbook.text import display_path


class OpsbookConfig(base.Config):
    runbooks_dir = c.Optional(c.Type(str))
    """The runbook files; unset: the project's runbooks folder (opsbook.toml `runbooks_dir`, else runbooks/)."""
    alert_rules = c.Type(str, default="monitoring/prometheus/alerts")
    """Prometheus rule files (*.yml, *.yaml, *.json, in sub-folders too): the alerts index and the runbook_url check."""
    status_file = c.Type(str, default="build/verify/status.json")
    """Written by `opsbook verify`."""
    stale_after_days = c.Type(int, default=7)
    """A pass older than this shows as stale."""
    external_runbook_prefixes = c.ListOfItems(c.Type(str), default=[])
    """runbook_urls that start with one of these are another site's runbooks: accepted, not checked."""
    faults_dir = c.Type(str, default="sandbox/faults")
    """Sandbox fault scenarios: the alerts index says which fault fires each alert live (absent: no column)."""


@dataclass(frozen=True)
class SiteSettings:
    """The plugin's settings as paths: where runbooks, rules and the status file are."""

    project_dir: Path
    runbooks_dir: Path
    alert_rules: Path
    status_file: Path
    stale_after_days: int
    external_runbook_prefixes: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    """Files below the runbooks folder that are not runbooks (the project's `exclude` setting)."""
    faults_dir: Path | None = None

    @classmethod
    def from_config(cls, config: MkDocsConfig, options: OpsbookConfig, environ: Mapping[str, str]) -> SiteSettings:
        project_dir = Path(config.config_file_path or config.docs_dir).resolve()
        if project_dir.is_file():
            project_dir = project_dir.parent
        status = environ.get("OPSBOOK_STATUS") or options.status_file
        stale = environ.get("OPSBOOK_STALE_AFTER_DAYS") or options.stale_after_days
        try:
            stale_days = int(stale)
        except (TypeError, ValueError):
            raise PluginError(f"opsbook: stale_after_days must be a whole number of days, not {stale!r}") from None
        for prefix in options.external_runbook_prefixes:
            target = urlsplit(prefix)
            if target.scheme not in ("http", "https") or not target.netloc:
                raise PluginError(f"opsbook: external_runbook_prefixes: {prefix!r} is not an http(s) URL; "
                                  "write the start of the other site's runbook URLs, e.g. https://wiki.example.com/runbooks/")
        return cls(
            project_dir=project_dir,
            runbooks_dir=project_dir / options.runbooks_dir if options.runbooks_dir else runbooks_dir(project_dir),
            alert_rules=project_dir / options.alert_rules,
            status_file=project_dir / status,
            stale_after_days=stale_days,
            external_runbook_prefixes=tuple(options.external_runbook_prefixes),
            exclude=tuple(excluded_names(project_dir)),
            faults_dir=project_dir / options.faults_dir,
        )

    def label(self, path: Path) -> str:
        """A path as the person who wrote mkdocs.yml knows it: relative to its folder."""
        return display_path(path, self.project_dir)
