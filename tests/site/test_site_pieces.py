"""The site's pure parts: escaping through the real Markdown pipeline, status, rules, anchors, nav."""

from __future__ import annotations

import json
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import markdown
import pytest
from mkdocs.config import load_config

from opsbook.site import render
from opsbook.site.alerts import AlertRule, AlertRulesError, load_alert_rules, read_rule_file
from opsbook.site.anchors import anchors_in, check_runbook_urls
from opsbook.site.plugin import expand_nav
from opsbook.errors import StatusFileError
from opsbook.verify.status import Freshness, freshness, read_status, status_from_document

from tests.support.render_samples import MARKUP, NOW, status_document

from tests.support import REPO


@pytest.fixture(scope="module")
def site_markdown():
    """Markdown configured exactly like the site (mkdocs.yml's extensions)."""
    config = load_config(str(REPO / "mkdocs.yml"))
    return lambda text: markdown.Markdown(
        extensions=config.markdown_extensions, extension_configs=config.mdx_configs
    ).convert(text)


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.pre_text: list[str] = []
        self._in_pre = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "pre" and ("class", "opsbook-output__text") in attrs:
            self._in_pre += 1
            self.pre_text.append("")

    def handle_endtag(self, tag):
        if tag == "pre" and self._in_pre:
            self._in_pre -= 1

    def handle_data(self, data):
        if self._in_pre:
            self.pre_text[-1] += data


def _parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def test_recorded_output_stays_text_through_the_site_markdown(runbooks, ctx, site_markdown):
    html = site_markdown(render.runbook_page(runbooks[0], ctx).split("---\n", 2)[2])
    parsed = _parse(html)
    assert not [t for t, _ in parsed.tags if t in ("script", "img", "iframe")]
    assert not [a for _, a in parsed.tags if any(k.startswith("on") for k in a)]
    # What the command printed is shown exactly (colour codes and \r rewrites applied).
    assert MARKUP in parsed.pre_text
    assert "1532\n" in parsed.pre_text
    assert "progress 100%\nERROR <b>still 12 jobs</b>\n" in parsed.pre_text
    # The fence inside the command did not break the card; every step kept its anchor.
    for step in runbooks[0].steps:
        assert f'id="step-{step.name}"' in html
    assert 'id="alert-workerqueuebackedup"' in html


@pytest.mark.parametrize("output", [
    "</details></div><script>alert(1)</script>",
    "    indented\n\n\n```bash\nrm -rf /\n```\n~~~\n",
    "{{ config.extra }}{% for x in y %}",
    "[link](javascript:alert(1)) ![img](x) <!-- comment --> &amp; &lt;",
    "\x00\x07bell\x1b]0;title\x07 done",
])
def test_any_output_round_trips_as_plain_text(output, site_markdown):
    html = site_markdown(f'<div markdown>\n\n<pre class="opsbook-output__text"><code>{render.pre_html(output)}'
                         "</code></pre>\n\n</div>\n")
    parsed = _parse(html)
    assert [t for t, _ in parsed.tags] == ["div", "pre", "code"]
    assert parsed.pre_text == [render.terminal_text(output)]


def test_no_raw_yaml_header_and_no_duplicate_title(runbooks, ctx):
    page = render.runbook_page(runbooks[0], ctx)
    body = page.split("---\n", 2)[2]
    assert "jupyter:" not in body and "kernelspec" not in body
    assert body.count("# Worker queue backed up") == 1  # the prose repeated the title as its H1


def test_fence_is_longer_than_any_backtick_run():
    assert render.fence("echo ````", "bash").startswith("`````bash\n")


def test_freshness_states(ctx):
    status = status_from_document(status_document())
    failed = status.get("incidents/worker-queue-backed-up")
    passed = status.get("deployment/deploy")
    assert freshness(None, NOW, 7) is Freshness.NEVER
    assert freshness(failed, NOW, 7) is Freshness.FAILED
    assert freshness(failed, NOW + timedelta(days=100), 7) is Freshness.FAILED
    assert freshness(passed, NOW, 7) is Freshness.STALE  # verified 16 days before NOW
    assert freshness(passed, NOW, 30) is Freshness.VERIFIED


def test_status_fixture_follows_the_schema():
    schema = json.loads((REPO / "src/opsbook/verify/status.schema.json").read_text())
    jsonschema.validate(status_document(), schema)


def test_read_status_missing_bad_and_good(tmp_path):
    assert read_status(tmp_path / "nope.json") is None
    bad = tmp_path / "bad.json"
    bad.write_text("{\n  oops")
    with pytest.raises(StatusFileError, match=r"bad.json:2: not valid JSON"):
        read_status(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema": "opsbook-status/99", "runbooks": {}}))
    with pytest.raises(StatusFileError, match="opsbook-status/99"):
        read_status(other)
    good = tmp_path / "status.json"
    good.write_text(json.dumps(status_document()))
    status = read_status(good)
    assert status is not None
    step = status.get("incidents/worker-queue-backed-up").first_case.step("restart-worker")
    assert step.output == MARKUP


RULES = """\
groups:
  - name: worker
    rules:
      - record: job:queue_depth:max
        expr: max(queue_depth)
      - alert: WorkerQueueBackedUp
        expr: queue_depth > 1000
        labels:
          severity: critical
        annotations:
          summary: Jobs are waiting
          runbook_url: https://runbooks.example.com/runbooks/incidents/q/#alert-workerqueuebackedup
  - name: app
    rules:
      - alert: AppDown
        expr: up == 0
        labels: {severity: page}
        annotations: {runbook_url: "https://runbooks.example.com/alerts/#appdown"}
"""


def test_alert_rules_with_lines(tmp_path):
    (tmp_path / "platform.yml").write_text(RULES)
    (tmp_path / "notes.txt").write_text("not a rule file")
    rules, errors = load_alert_rules(tmp_path)
    assert errors == []
    assert [(r.name, r.line, r.severity) for r in rules] == [("WorkerQueueBackedUp", 6, "critical"),
                                                              ("AppDown", 15, "page")]
    assert rules[0].summary == "Jobs are waiting"
    assert rules[1].runbook_url.endswith("/alerts/#appdown")


def test_broken_rule_file_is_reported_with_its_line(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n  - name: x\n    rules: [\n")
    with pytest.raises(AlertRulesError, match=r"broken.yml:\d+: not valid YAML"):
        read_rule_file(broken)
    assert load_alert_rules(tmp_path / "missing") == ([], [])


def _rule(url: str) -> AlertRule:
    return AlertRule("WorkerQueueBackedUp", Path("monitoring/prometheus/alerts/worker.yml"), 6, runbook_url=url)


def test_runbook_urls_resolve_to_pages_and_anchors():
    pages = {
        "runbooks/incidents/q/index.html": {"alert-workerqueuebackedup", "step-restart"},
        "alerts/index.html": {"workerqueuebackedup"},
        "index.html": set(),
    }
    site = "https://runbooks.example.com/"
    good = [
        _rule("https://runbooks.example.com/runbooks/incidents/q/#alert-workerqueuebackedup"),
        _rule("https://runbooks.example.com/runbooks/incidents/q/index.html#alert-workerqueuebackedup"),
        _rule("https://runbooks.example.com/alerts/#workerqueuebackedup"),
        _rule("https://runbooks.example.com/alerts/"),
        _rule(""),
    ]
    assert check_runbook_urls(good, site, pages) == []
    bad = [
        _rule("https://runbooks.example.com/runbooks/incidents/nope/#alert-workerqueuebackedup"),
        _rule("https://runbooks.example.com/runbooks/incidents/q/#alert-other"),
        _rule("https://wiki.example.com/runbooks/incidents/q/"),
    ]
    problems = [str(p) for p in check_runbook_urls(bad, site, pages)]
    assert len(problems) == 3
    assert all(p.startswith("monitoring/prometheus/alerts/worker.yml:6: alert WorkerQueueBackedUp") for p in problems)
    assert "page that does not exist" in problems[0]
    assert "anchor that does not exist (#alert-other)" in problems[1]
    assert "not on this site" in problems[2]


def test_anchors_in_html():
    assert anchors_in('<h2 id="a">x</h2><a id=\'b\' href="#c"></a><div data-id="no">') == {"a", "b"}


def test_nav_areas_expand_and_unnamed_areas_follow(runbooks):
    nav = [{"Home": "index.md"}, {"Deployment": "runbooks/deployment/"}, {"Incidents": "runbooks/incidents/"},
           {"Guides": [{"CLI": "cli.md"}]}]
    generated = {render.area_page_path(a) for a in ("deployment", "incidents", "database")}
    expanded = expand_nav(nav, runbooks, generated)
    assert expanded[1] == {"Deployment": ["runbooks/deployment/index.md",
                                          {"Deploy a new app version": "runbooks/deployment/deploy/index.md"}]}
    assert list(expanded[3]) == ["Database"]  # not named in the nav: added after the last area
    assert expanded[3]["Database"][1] == {"Back up and restore the database":
                                          "runbooks/database/backup-restore/index.md"}
    assert expanded[4] == {"Guides": [{"CLI": "cli.md"}]}


def test_alert_summaries_show_no_raw_prometheus_templates():
    from opsbook.site.alerts import readable_summary

    assert readable_summary("{{ $value }} jobs are waiting (threshold 1000)") == "N jobs are waiting (threshold 1000)"
    assert readable_summary("{{ $labels.job }} is down") == "<job> is down"
    assert readable_summary('{{ printf "%.1f" $value }}% of requests fail') == "N% of requests fail"
