"""Small site projects for `mkdocs build`: this repository's mkdocs.yml with fixture runbooks and rules."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.site import FIXTURES, REPO

RULES_DIR = "monitoring/prometheus/alerts"


def fixture_project(tmp_path: Path, rules: str | dict[str, str | bytes], *, runbooks: tuple[str, ...] = ("runbook-files",),
                    settings: str = "", nav: str = "") -> Path:
    """A copy of the site config with the runbooks of `runbooks` (folders of tests/site/fixtures) and
    the rule files `rules` (one app.yml, or path below the rules folder → text or bytes); `settings`
    are more lines of `extra.opsbook`; `nav` replaces the real site's nav (none: mkdocs' own).
    Returns mkdocs.yml."""
    project = tmp_path / "project"
    for folder in runbooks:  # not below a runbooks/ folder: the pytest plugin would verify them
        shutil.copytree(FIXTURES / folder, project / "runbooks", dirs_exist_ok=True)
    (project / "docs/stylesheets").mkdir(parents=True)
    shutil.copy(REPO / "docs/stylesheets/opsbook.css", project / "docs/stylesheets/")
    (project / "docs/index.md").write_text("# Fixture site\n")
    (project / RULES_DIR).mkdir(parents=True)
    for name, content in ({"app.yml": rules} if isinstance(rules, str) else rules).items():
        path = project / RULES_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    config = (REPO / "mkdocs.yml").read_text()
    config = config.replace("hooks/runbooks.py", str(REPO / "hooks/runbooks.py"))
    config = config[: config.index("\nnav:")] + "\n" + (f"nav:\n{nav}" if nav else "")
    if settings:
        marker = "  opsbook:\n"
        config = config.replace(marker, marker + "".join(f"    {line}\n" for line in settings.splitlines()))
    (project / "mkdocs.yml").write_text(config)
    return project / "mkdocs.yml"


HOSTILE_RUNBOOKS = "hostile-runbook-files"
HOSTILE_TITLE = """Hostile <script>alert(1)</script> "><img src=x onerror=alert(2)> title"""
HOSTILE_SUMMARY = """Summary "><img src=x onerror=alert(3)> <script>alert(4)</script> {{ config.site_name }}"""
HOSTILE_RULES = """\
groups:
  - name: hostile
    rules:
      - alert: HostileMarkup
        expr: up == 0
        labels: {severity: '<script>alert(20)</script>'}
        annotations:
          summary: '"><img src=x onerror=alert(21)> <script>alert(22)</script>'
          runbook_url: https://runbooks.example.com/runbooks/incidents/markup-everywhere/#alert-hostilemarkup
      - alert: 'Hostile"><img src=x onerror=alert(23)>'
        expr: up == 0
        annotations:
          summary: a name no Prometheus accepts, in a rule file all the same
      - alert: '<script>alert(24)</script>'
        expr: up == 0
        annotations:
          runbook_url: 'https://wiki.example.com/runbooks/"><img src=x onerror=alert(25)><script>alert(26)</script>'
"""
HOSTILE_SETTINGS = "external_runbook_prefixes: [https://wiki.example.com/runbooks/]"
HOSTILE_NAV = """\
  - Home: [index.md, alerts/index.md, services/index.md, quick-start/index.md, runbooks/index.md, tags/index.md]
  - Incidents: runbooks/incidents/
"""
