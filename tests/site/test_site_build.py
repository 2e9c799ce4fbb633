"""`mkdocs build --strict` of the real site and of small fixture projects."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from opsbook.runbook.discover import runbook_files
from opsbook.runbook.discover import load_runbook
from opsbook.site.alerts import load_alert_rules

from tests.support.site import FIXTURES, MARKUP_OUTPUT, REPO, mkdocs_build

pytestmark = pytest.mark.site


def _real_runbooks():
    root = REPO / "runbooks"
    return [load_runbook(p, root) for p in runbook_files([root])]


def test_real_site_has_a_page_per_runbook_with_alert_and_step_anchors(real_site: Path):
    runbooks = _real_runbooks()
    assert runbooks, "no runbooks in runbooks/"
    for rb in runbooks:
        html = (real_site / "runbooks" / rb.id / "index.html").read_text()
        for alert in rb.alerts:
            assert f'id="alert-{alert.lower()}"' in html, (rb.id, alert)
        for step in rb.steps:
            assert f'id="step-{step.name}"' in html, (rb.id, step.name)
        assert "kernelspec" not in html and "jupyter:" not in html, f"{rb.id} shows its YAML header"
        assert f"opsbook run {rb.id}" in html
    for page in ("alerts", "services", "quick-start", "runbooks", "tags"):
        assert (real_site / page / "index.html").is_file(), page


def test_real_site_escapes_recorded_output(real_site: Path):
    html = (real_site / "runbooks/deployment/deploy/index.html").read_text()
    assert "<script>alert(1)" not in html
    assert "&#60;script&#62;alert(1)&#60;/script&#62;" in html
    assert "{{ config.site_name }}" not in html  # entity-encoded, never a template


def test_search_index_covers_prose_commands_step_names_and_alerts(real_site: Path):
    index = json.loads((real_site / "search/search_index.json").read_text())
    by_location: dict[str, str] = {}
    for doc in index["docs"]:
        page = doc["location"].split("#")[0]
        by_location[page] = by_location.get(page, "") + " " + doc["title"] + " " + doc["text"]
    deploy = by_location["runbooks/deployment/deploy/index.html"]
    assert "rollback" in deploy.lower()
    assert "pre-deploy-checks" in deploy  # a step name
    worker = by_location["runbooks/incidents/worker-queue-backed-up/index.html"]
    assert "WorkerQueueBackedUp" in worker
    backup = by_location["runbooks/database/backup-restore/index.html"]
    assert "pg_dump" in backup  # a command
    # the offline plugin inlined the index for file:// use
    assert (real_site / "search/search_index.js").read_text().startswith("var __index =")


def test_real_site_loads_nothing_from_the_network(real_site: Path):
    for html_file in [real_site / "index.html", real_site / "runbooks/deployment/deploy/index.html"]:
        html = html_file.read_text()
        loaded = re.findall(r'<(?:script|img|iframe)[^>]*\ssrc="(https?://[^"]+)"', html)
        loaded += re.findall(r'<link[^>]*\shref="(https?://[^"]+)"', html)
        assert [u for u in loaded if not u.startswith("https://runbooks.example.com/")] == [], html_file


def test_every_real_alert_rule_is_on_the_alerts_index(real_site: Path):
    rules, errors = load_alert_rules(REPO / "monitoring/prometheus/alerts")
    assert errors == []
    html = (real_site / "alerts/index.html").read_text()
    for rule in rules:
        assert f'id="{rule.name.lower()}"' in html, rule.name


def test_real_site_without_status_shows_never_verified(tmp_path: Path):
    result = mkdocs_build(REPO / "mkdocs.yml", tmp_path / "site", status=tmp_path / "missing.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site/runbooks/deployment/deploy/index.html").read_text()
    assert "Never verified" in html and "never verified" in html


# --- fixture projects -------------------------------------------------------------------------


def _project(tmp_path: Path, rules: str) -> Path:
    """A copy of the site config with fixture runbooks and rule files; returns mkdocs.yml."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "runbook-files", project / "runbooks")  # not below a runbooks/ folder: the pytest plugin would verify it
    (project / "docs/stylesheets").mkdir(parents=True)
    shutil.copy(REPO / "docs/stylesheets/opsbook.css", project / "docs/stylesheets/")
    (project / "docs/index.md").write_text("# Fixture site\n")
    (project / "monitoring/prometheus/alerts").mkdir(parents=True)
    (project / "monitoring/prometheus/alerts/app.yml").write_text(rules)
    config = (REPO / "mkdocs.yml").read_text()
    config = config.replace("hooks/runbooks.py", str(REPO / "hooks/runbooks.py"))
    config = config[: config.index("\nnav:")] + "\n"
    (project / "mkdocs.yml").write_text(config)
    return project / "mkdocs.yml"


GOOD_RULES = """\
groups:
  - name: app
    rules:
      - alert: AppDown
        expr: up{job="app"} == 0
        labels: {severity: critical}
        annotations:
          runbook_url: https://runbooks.example.com/runbooks/incidents/app-down/#alert-appdown
      - alert: AppSlow
        expr: latency > 1
        labels: {severity: warning}
        annotations:
          runbook_url: https://runbooks.example.com/alerts/#appslow
"""

DANGLING_RULES = GOOD_RULES + """\
      - alert: AppErrors
        expr: errors > 0
        annotations:
          runbook_url: https://runbooks.example.com/runbooks/incidents/app-errors/#alert-apperrors
      - alert: AppDownAgain
        expr: up == 0
        annotations:
          runbook_url: https://runbooks.example.com/runbooks/incidents/app-down/#alert-appdownagain
"""


def test_fixture_project_with_resolving_urls_builds_strict(tmp_path: Path):
    config = _project(tmp_path, GOOD_RULES)
    result = mkdocs_build(config, tmp_path / "site", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    alerts = (tmp_path / "site/alerts/index.html").read_text()
    assert "no runbook yet" in alerts  # AppSlow has a rule but no runbook
    page = (tmp_path / "site/runbooks/incidents/app-down/index.html").read_text()
    assert "Never verified" in page  # no status file in the project


def test_dangling_runbook_urls_fail_the_strict_build_and_are_listed(tmp_path: Path):
    config = _project(tmp_path, DANGLING_RULES)
    result = mkdocs_build(config, tmp_path / "site", cwd=tmp_path)
    assert result.returncode != 0
    dangling = [line for line in result.stderr.splitlines() if "dangling runbook_url" in line]
    assert len(dangling) == 2, result.stderr
    assert "app.yml:14: alert AppErrors" in dangling[0] and "page that does not exist" in dangling[0]
    assert "app.yml:18: alert AppDownAgain" in dangling[1] and "#alert-appdownagain" in dangling[1]
    relaxed = mkdocs_build(config, tmp_path / "site2", strict=False, cwd=tmp_path)
    assert relaxed.returncode == 0, relaxed.stderr
    assert "dangling runbook_url" in relaxed.stderr


def test_a_broken_runbook_fails_the_strict_build_with_file_and_line(tmp_path: Path):
    config = _project(tmp_path, GOOD_RULES)
    broken = config.parent / "runbooks/incidents/broken.md"
    broken.write_text("---\njupyter: {}\nopsbook:\n  format: 1\n  severity: SEV9\n---\n\n# Broken\n")
    result = mkdocs_build(config, tmp_path / "site", cwd=tmp_path)
    assert result.returncode != 0
    assert re.search(r"broken\.md:\d+: ", result.stderr), result.stderr


def test_a_corrupt_status_file_is_reported_not_a_crash(tmp_path: Path):
    config = _project(tmp_path, GOOD_RULES)
    status = tmp_path / "status.json"
    status.write_text("{ not json")
    strict = mkdocs_build(config, tmp_path / "site", status=status, cwd=tmp_path)
    assert strict.returncode != 0 and "ignoring verification status" in strict.stderr
    relaxed = mkdocs_build(config, tmp_path / "site2", status=status, strict=False, cwd=tmp_path)
    assert relaxed.returncode == 0, relaxed.stderr
    assert "Never verified" in (tmp_path / "site2/runbooks/incidents/app-down/index.html").read_text()


def test_stale_after_days_is_configurable(tmp_path: Path):
    config = _project(tmp_path, GOOD_RULES)
    status = tmp_path / "status.json"
    doc = {"schema": "opsbook-status/1", "generated_at": "2020-01-01T00:00:00Z", "commit": None, "runbooks": {
        "incidents/app-down": {"id": "incidents/app-down", "title": "App is down", "result": "passed",
                               "verified_at": "2020-01-01T00:00:00Z", "commit": None, "duration": 1.0,
                               "cases": [{"case": "default", "result": "passed", "scenario": "app-down",
                                          "alerts": {}, "steps": [{"name": "confirm-down", "status": "passed",
                                                                   "exit_status": 0, "duration": 0.1,
                                                                   "output": MARKUP_OUTPUT}]}]}}}
    status.write_text(json.dumps(doc))
    result = mkdocs_build(config, tmp_path / "site", status=status, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Stale: last verified" in (tmp_path / "site/runbooks/incidents/app-down/index.html").read_text()
    config.write_text(config.read_text().replace("stale_after_days: 7", "stale_after_days: 100000"))
    result = mkdocs_build(config, tmp_path / "site2", status=status, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "site2/runbooks/incidents/app-down/index.html").read_text()
    assert "Stale" not in page and "Verified on 2020-01-01" in page
