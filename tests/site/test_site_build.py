"""`mkdocs build --strict` of the real site and of small fixture projects."""

from __future__ import annotations

import codecs
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from opsbook.runbook.discover import runbook_files
from opsbook.runbook.discover import load_runbook
from opsbook.site.alerts import load_alert_rules

from tests.site.fixture_project import HOSTILE_SUMMARY, HOSTILE_TITLE, fixture_project
from tests.support.site import MARKUP_OUTPUT, REPO, mkdocs_build

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


def test_real_quick_start_starts_with_opsbook_alerts_and_links_the_incident_guide(real_site: Path):
    html = (real_site / "quick-start/index.html").read_text()
    article = html.split("<article", 1)[1]
    text = re.sub(r"<[^>]+>", "", article)
    assert text.index("opsbook alerts") < text.index("opsbook run --alert NAME") < text.index("SEV1 runbooks")
    assert 'href="../incident-response.html"' in article
    assert article.split("<ol>", 1)[1].split("</ol>", 1)[0].count("<li>") == 5  # no item swallowed by the one above
    assert (real_site / "incident-response.html").is_file()


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
    found = load_alert_rules(REPO / "monitoring/prometheus/alerts")
    assert found.errors == [] and found.rules
    html = (real_site / "alerts/index.html").read_text()
    for rule in found.rules:
        assert f'id="{rule.name.lower()}"' in html, rule.name


def test_real_site_without_status_shows_never_verified(tmp_path: Path):
    result = mkdocs_build(REPO / "mkdocs.yml", tmp_path / "site", status=tmp_path / "missing.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site/runbooks/deployment/deploy/index.html").read_text()
    assert "Never verified" in html and "never verified" in html


# --- fixture projects -------------------------------------------------------------------------


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
    config = fixture_project(tmp_path, GOOD_RULES)
    result = mkdocs_build(config, tmp_path / "site", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    alerts = (tmp_path / "site/alerts/index.html").read_text()
    assert "no runbook yet" in alerts  # AppSlow has a rule but no runbook
    page = (tmp_path / "site/runbooks/incidents/app-down/index.html").read_text()
    assert "Never verified" in page  # no status file in the project


def _dangling(config: Path, site: Path) -> list[str]:
    """The `dangling runbook_url` lines of a strict build, which must have failed."""
    result = mkdocs_build(config, site, cwd=site.parent)
    assert result.returncode != 0
    return [line for line in result.stderr.splitlines() if "dangling runbook_url" in line]


def test_dangling_runbook_urls_fail_the_strict_build_and_are_listed(tmp_path: Path):
    config = fixture_project(tmp_path, DANGLING_RULES)
    dangling = _dangling(config, tmp_path / "site")
    assert len(dangling) == 2, dangling
    assert "app.yml:14: alert AppErrors" in dangling[0] and "page that does not exist" in dangling[0]
    assert "app.yml:18: alert AppDownAgain" in dangling[1] and "#alert-appdownagain" in dangling[1]
    relaxed = mkdocs_build(config, tmp_path / "site2", strict=False, cwd=tmp_path)
    assert relaxed.returncode == 0, relaxed.stderr
    assert "dangling runbook_url" in relaxed.stderr


def test_a_broken_runbook_fails_the_strict_build_with_file_and_line(tmp_path: Path):
    config = fixture_project(tmp_path, GOOD_RULES)
    broken = config.parent / "runbooks/incidents/broken.md"
    broken.write_text("---\njupyter: {}\nopsbook:\n  format: 1\n  severity: SEV9\n---\n\n# Broken\n")
    result = mkdocs_build(config, tmp_path / "site", cwd=tmp_path)
    assert result.returncode != 0
    assert re.search(r"broken\.md:\d+: ", result.stderr), result.stderr


def test_a_corrupt_status_file_is_reported_not_a_crash(tmp_path: Path):
    config = fixture_project(tmp_path, GOOD_RULES)
    status = tmp_path / "status.json"
    status.write_text("{ not json")
    strict = mkdocs_build(config, tmp_path / "site", status=status, cwd=tmp_path)
    assert strict.returncode != 0 and "ignoring verification status" in strict.stderr
    relaxed = mkdocs_build(config, tmp_path / "site2", status=status, strict=False, cwd=tmp_path)
    assert relaxed.returncode == 0, relaxed.stderr
    assert "Never verified" in (tmp_path / "site2/runbooks/incidents/app-down/index.html").read_text()


def test_stale_after_days_is_configurable(tmp_path: Path):
    config = fixture_project(tmp_path, GOOD_RULES)
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


# --- markup in runbooks and rule files --------------------------------------------------------


class _Page(HTMLParser):
    """The elements of a page, with attributes, and its text as the browser shows it."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._open.append(tag)
        if tag == "script":
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag):]

    def handle_data(self, data):
        if self._open and self._open[-1] == "script":
            self.scripts[-1] += data
        elif data.strip():
            self.text.append(" ".join(data.split()))

    def named(self, tag: str) -> list[dict[str, str]]:
        return [attrs for t, attrs in self.elements if t == tag]


def _page(path: Path) -> _Page:
    parsed = _Page()
    parsed.feed(path.read_text(encoding="utf-8"))
    return parsed


def test_markup_in_runbook_and_rule_fields_is_text_on_every_page(hostile_site: Path):
    pages = sorted(hostile_site.rglob("*.html"))
    assert len(pages) > 8
    for path in pages:
        page = _page(path)
        where = path.relative_to(hostile_site)
        assert [a for a in page.named("img") if a.get("src") == "x"] == [], where
        assert [(t, k) for t, attrs in page.elements for k in attrs if k.startswith("on")] == [], where
        assert [s for s in page.scripts if "alert(" in s] == [], where
    runbook = _page(hostile_site / "runbooks/incidents/markup-everywhere/index.html")
    assert f"{HOSTILE_TITLE} - opsbook runbooks" in runbook.text  # <title>, as text
    assert [m["content"] for m in runbook.named("meta") if m.get("name") == "description"] == [HOSTILE_SUMMARY]
    assert "<script>alert(5)</script>\"><img src=x onerror=alert(6)>" in runbook.text  # owner
    assert "<script>alert(11)</script>" in runbook.text  # a tag
    assert any(t.startswith("<script>alert(15)</script>") for t in runbook.text)  # a parameter's help
    assert "<script>alert(30)</script>" in " ".join(runbook.text)  # raw HTML in the prose, as text
    # a link written from file to file leads to the other runbook's page, at the step's anchor
    assert "../app-down/index.html#step-confirm-down" in [a.get("href") for a in runbook.named("a")]
    # Every other page names the runbook in its navigation, as text.
    for other in ("index.html", "alerts/index.html", "tags/index.html", "runbooks/incidents/app-down/index.html"):
        assert HOSTILE_TITLE in _page(hostile_site / other).text, other
    index = json.loads((hostile_site / "search/search_index.json").read_text())
    indexed = json.dumps(index)
    assert "<script>alert" not in indexed and "<img src=x" not in indexed


def test_alert_names_with_markup_get_safe_anchors_on_the_alerts_index(hostile_site: Path):
    alerts = _page(hostile_site / "alerts/index.html")
    ids = [a["id"] for a in alerts.named("a") if "opsbook-alert" in a.get("class", "")]
    assert len(ids) == 4 and {"appdown", "hostilemarkup"} <= set(ids)  # and the two names with markup
    assert all(re.fullmatch(r"[a-z0-9_:-]+", anchor) for anchor in ids), ids
    assert 'Hostile"><img src=x onerror=alert(23)>' in alerts.text and "<script>alert(24)</script>" in alerts.text
    # the rule's runbook_url is on another site: linked as it is, markup and all, never as markup
    elsewhere = [a["href"] for a in alerts.named("a") if a.get("class") == "opsbook-elsewhere"]
    assert elsewhere == ['https://wiki.example.com/runbooks/"><img src=x onerror=alert(25)><script>alert(26)</script>']
    runbook = _page(hostile_site / "runbooks/incidents/markup-everywhere/index.html")
    assert "alert-hostilemarkup" in [a.get("id") for a in runbook.named("a")]


# --- rule files as promtool reads them ---------------------------------------------------------


def _rule_file(alert: str, runbook_url: str = "", indent: str = "") -> str:
    annotation = f"\n{indent}        annotations: {{runbook_url: '{runbook_url}'}}" if runbook_url else ""
    return (f"{indent}groups:\n{indent}  - name: {alert.lower()}\n{indent}    rules:\n"
            f"{indent}      - alert: {alert}\n{indent}        expr: up == 0{annotation}\n")


PROMETHEUS_RULE = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: not-rules}
data: {a: b}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: app}
spec:
""" + _rule_file("FromOperator", indent="  ") + "---\n"


def test_rule_files_in_every_form_promtool_reads_build_strict(tmp_path: Path):
    config = fixture_project(tmp_path, {
        "app.yml": GOOD_RULES,
        "utf16-le.yml": (codecs.BOM_UTF16_LE + _rule_file("FromUtf16Le").encode("utf-16-le")),
        "utf16-be.yml": (codecs.BOM_UTF16_BE + _rule_file("FromUtf16Be").encode("utf-16-be")),
        "utf8-bom.yaml": (codecs.BOM_UTF8 + _rule_file("FromUtf8Bom").encode("utf-8")),
        "team/db/Upper.YML": _rule_file("FromSubFolder"),
        "exported.json": json.dumps({"groups": [{"name": "j", "rules": [{"alert": "FromJson", "expr": "up"}]}]},
                                    indent="\t"),
        "k8s/rules.yaml": PROMETHEUS_RULE,
        "null.yml": "null\n",
        "empty-mapping.yml": "{}\n",
        "only-a-comment.yml": "# rules to come\n",
        ".drafts/broken.yml": "groups: [\n",
        ".hidden.yml": "groups: [\n",
    })
    result = mkdocs_build(config, tmp_path / "site", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    alerts = (tmp_path / "site/alerts/index.html").read_text()
    for name in ("AppDown", "FromUtf16Le", "FromUtf16Be", "FromUtf8Bom", "FromSubFolder", "FromJson", "FromOperator"):
        assert f'id="{name.lower()}"' in alerts, name
    assert "k8s/rules.yaml:1: a Kubernetes ConfigMap, not a PrometheusRule: skipped" in result.stderr
    assert "null.yml:1: empty: no rules" in result.stderr


def test_unreadable_rule_files_fail_the_strict_build_with_file_and_line(tmp_path: Path):
    config = fixture_project(tmp_path, {
        "app.yml": GOOD_RULES,
        "latin1.yml": _rule_file("Caf\u00e9Down").encode("latin-1"),  # the é of line 2 (the group's name) first
        "list.yml": "- alert: NotInAGroup\n  expr: up == 0\n",
        "operator.yaml": "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\n",
    })
    result = mkdocs_build(config, tmp_path / "site", cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert re.search(r"latin1\.yml:2: not UTF-8 text \(invalid .*\): save it as UTF-8", result.stderr), result.stderr
    assert re.search(r"list\.yml:1: expected a Prometheus rule file \(a `groups:` list of rule groups\) or a "
                     r"Kubernetes PrometheusRule .*`spec\.groups:`.*not a list", result.stderr), result.stderr
    assert "operator.yaml:1: a PrometheusRule without `spec.groups:`" in result.stderr


# --- runbook_urls elsewhere and templated --------------------------------------------------------


ELSEWHERE_RULES = GOOD_RULES.replace(
    "https://runbooks.example.com/alerts/#appslow", "https://wiki.example.com/runbooks/app-slow?from=alert&v=2"
) + """\
      - alert: AppErrors
        expr: errors > 0
        annotations:
          runbook_url: '{{ $externalURL }}/runbooks/app-errors'
"""


def test_runbook_urls_on_an_accepted_site_build_strict_and_show_as_elsewhere(tmp_path: Path):
    config = fixture_project(tmp_path, ELSEWHERE_RULES)
    refused = mkdocs_build(config, tmp_path / "site", cwd=tmp_path)
    assert refused.returncode != 0
    assert "alert AppSlow: runbook_url https://wiki.example.com/runbooks/app-slow?from=alert&v=2 is not on this " \
           "site (https://runbooks.example.com/); if it is another runbook site, add its URL to the " \
           "`external_runbook_prefixes` setting" in refused.stderr
    config = fixture_project(tmp_path / "accepted", ELSEWHERE_RULES,
                             settings="external_runbook_prefixes: [https://wiki.example.com/runbooks/]")
    result = mkdocs_build(config, tmp_path / "site2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # a template of what only Prometheus knows is reported, not failed
    assert re.search(r"INFO .*app\.yml:14: alert AppErrors: runbook_url \{\{ \$externalURL \}\}/runbooks/app-errors "
                     r"depends on \{\{ \$externalURL \}\}, known only when the alert fires: not checked", result.stderr)
    alerts = _page(tmp_path / "site2/alerts/index.html")
    assert "runbook elsewhere" in alerts.text
    assert [a["href"] for a in alerts.named("a") if a.get("class") == "opsbook-elsewhere"] == [
        "https://wiki.example.com/runbooks/app-slow?from=alert&v=2"]
    assert "no runbook yet" in alerts.text  # AppErrors


def test_runbook_url_built_from_labels_alertname_fails_and_names_the_url_to_write(tmp_path: Path):
    rules = GOOD_RULES.replace(
        "https://runbooks.example.com/runbooks/incidents/app-down/#alert-appdown",
        "https://runbooks.example.com/runbooks/incidents/app-down/#alert-{{ $labels.alertname | toLower }}",
    ).replace("https://runbooks.example.com/alerts/#appslow", "https://runbooks.example.com/alerts/#{{ .Labels.alertname }}")
    dangling = _dangling(fixture_project(tmp_path, rules), tmp_path / "site")
    assert len(dangling) == 2, dangling
    assert "app.yml:4: alert AppDown:" in dangling[0] and "{{ $labels.alertname | toLower }} to an empty value" in dangling[0]
    assert dangling[0].endswith("write the URL out: https://runbooks.example.com/runbooks/incidents/app-down/#alert-appdown")
    assert dangling[1].endswith("write the URL out: https://runbooks.example.com/alerts/#AppSlow "
                                "(which points to an anchor that does not exist (#AppSlow))")
