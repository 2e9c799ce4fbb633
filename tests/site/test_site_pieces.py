"""The site's pure parts: escaping through the real Markdown pipeline, status, rules, anchors, nav."""

from __future__ import annotations

import codecs
import dataclasses
import json
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import markdown
import pytest
import yaml
from markupsafe import Markup
from mkdocs.config import load_config
from mkdocs.exceptions import PluginError

from opsbook.site import render
from opsbook.site.alerts import AlertRule, AlertRulesError, alert_anchor, load_alert_rules, read_rule_file, rule_files
from opsbook.site.annotations import url_template
from opsbook.site.anchors import anchors_in, check_runbook_urls, unchecked_runbook_urls
from opsbook.site.config import OpsbookConfig, SiteSettings
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
    found = load_alert_rules(tmp_path)
    assert found.errors == []
    rules = found.rules
    assert [(r.name, r.line, r.severity) for r in rules] == [("WorkerQueueBackedUp", 6, "critical"),
                                                              ("AppDown", 15, "page")]
    assert rules[0].summary == "Jobs are waiting"
    assert rules[1].runbook_url.endswith("/alerts/#appdown")


def test_broken_rule_file_is_reported_with_its_line(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n  - name: x\n    rules: [\n")
    with pytest.raises(AlertRulesError, match=r"broken.yml:\d+: not valid YAML"):
        read_rule_file(broken)
    missing = load_alert_rules(tmp_path / "missing")
    assert (missing.rules, missing.errors) == ([], [])


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
    from opsbook.site.annotations import readable_summary

    assert readable_summary("{{ $value }} jobs are waiting (threshold 1000)") == "N jobs are waiting (threshold 1000)"
    assert readable_summary("{{ $labels.job }} is down") == "<job> is down"
    assert readable_summary('{{ printf "%.1f" $value }}% of requests fail') == "N% of requests fail"


# --- markup in runbook fields and alert names --------------------------------------------------

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def _injected(html: str) -> list[str]:
    parsed = _parse(html)
    return ([t for t, _ in parsed.tags if t in ("script", "img", "iframe")]
            + [k for _, a in parsed.tags for k in a if k.startswith("on")])


def test_alert_anchor_keeps_prometheus_names_and_makes_any_other_a_safe_stable_id():
    assert alert_anchor("WorkerQueueBackedUp") == "workerqueuebackedup"  # what existing runbook_urls link to
    assert alert_anchor("node:cpu_high") == "node:cpu_high"
    anchor = alert_anchor('Hostile"><img src=x>')
    assert anchor.startswith("hostile-img-src-x-") and anchor == alert_anchor('Hostile"><img src=x>')
    assert alert_anchor('Hostile"><img src=y>') != anchor
    assert alert_anchor("<>").startswith("alert-")
    assert render.runbook_alert_anchor("Disk full") == "alert-" + alert_anchor("Disk full") != "alert-disk full"


def test_runbook_page_with_markup_in_every_field_stays_text(runbooks, ctx, site_markdown):
    # Built here, not parsed: the parser refuses such alert names, rule files and other callers need not.
    hostile = dataclasses.replace(
        runbooks[0], title=HOSTILE, summary=HOSTILE, owner=HOSTILE, services=(HOSTILE,), alerts=(HOSTILE,),
        tags=(HOSTILE,), scenario=HOSTILE, params=(dataclasses.replace(runbooks[0].params[0], help=HOSTILE,
                                                                       default=HOSTILE),) if runbooks[0].params else (),
    )
    rules = (AlertRule(HOSTILE, Path("x.yml"), 1, severity=HOSTILE, summary=HOSTILE),)
    hostile_ctx = dataclasses.replace(ctx, rules=rules)
    for page in (render.runbook_page(hostile, hostile_ctx), render.alerts_page([hostile], hostile_ctx),
                 render.services_page([hostile], hostile_ctx), render.quick_start_page([hostile], hostile_ctx),
                 render.runbooks_page([hostile], hostile_ctx)):
        _, meta, body = page.split("---\n", 2)
        html = site_markdown(body)
        assert _injected(html) == [], html
        for value in yaml.safe_load(meta).values():
            for text in value if isinstance(value, list) else [value]:
                assert "<" not in text and '"' not in text, text
    html = site_markdown(render.runbook_page(hostile, hostile_ctx).split("---\n", 2)[2])
    assert f'id="alert-{alert_anchor(HOSTILE)}"' in html and HOSTILE not in html


def test_front_matter_and_nav_titles_are_escaped_text(runbooks):
    meta = yaml.safe_load(render.front_matter({"title": HOSTILE, "tags": [HOSTILE]}).strip("-\n"))
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"
    assert meta == {"title": escaped, "tags": [escaped]}
    hostile = dataclasses.replace(runbooks[2], title=HOSTILE)
    nav = expand_nav([{"Database": "runbooks/database/"}], [hostile], set())
    (title, page), = nav[0]["Database"][0].items()
    assert title == escaped and isinstance(title, Markup)  # Markup: a template's `| e` leaves it as it is
    assert page == "runbooks/database/backup-restore/index.md"


def test_alerts_index_shows_runbooks_elsewhere_as_escaped_links(ctx):
    url = 'https://wiki.example.com/runbooks/a?b=1&c="><script>alert(1)</script>'
    rules = (AlertRule("AppSlow", Path("app.yml"), 3, runbook_url=url),
             AlertRule("AppFar", Path("app.yml"), 9, runbook_url="https://wiki.example.com/runbooks/{{ $labels.x }}"),
             AlertRule("AppNone", Path("app.yml"), 12))
    page = render.alerts_page([], dataclasses.replace(ctx, rules=rules,
                                                      runbooks_elsewhere=("https://wiki.example.com/runbooks/",)))
    rows = {line.split("</a>")[0].rsplit(">", 1)[-1]: line for line in page.splitlines() if "opsbook-alert" in line}
    assert "runbook elsewhere" in rows["AppSlow"] and "no runbook yet" not in rows["AppSlow"]
    assert ('href="https://wiki.example.com/runbooks/a?b=1&#38;c=&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"'
            in rows["AppSlow"])
    assert "runbook elsewhere" in rows["AppFar"] and "href" not in rows["AppFar"].split("runbook elsewhere")[1]
    assert "no runbook yet" in rows["AppNone"]


# --- rule files ---------------------------------------------------------------------------------

SMALL_RULES = "groups:\n  - name: g\n    rules:\n      - alert: Small\n        expr: up == 0\n"


@pytest.mark.parametrize("encoded", [
    SMALL_RULES.encode("utf-8"),
    codecs.BOM_UTF8 + SMALL_RULES.encode("utf-8"),
    codecs.BOM_UTF16_LE + SMALL_RULES.encode("utf-16-le"),
    codecs.BOM_UTF16_BE + SMALL_RULES.encode("utf-16-be"),
], ids=["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be"])
def test_rule_files_read_in_every_encoding_promtool_reads(tmp_path, encoded):
    path = tmp_path / "rules.yml"
    path.write_bytes(encoded)
    assert [(r.name, r.line) for r in read_rule_file(path)] == [("Small", 4)]


@pytest.mark.parametrize("encoded, line", [
    ("groups: []\n# caf\u00e9\n".encode("latin-1"), 2),
    (b"\xff\xfe" + "groups: []\n".encode("utf-16-le")[:-1], 1),
])
def test_undecodable_rule_file_is_an_error_with_its_line(tmp_path, encoded, line):
    path = tmp_path / "rules.yml"
    path.write_bytes(encoded)
    with pytest.raises(AlertRulesError, match=rf"rules.yml:{line}: not UTF-(8|16-LE) text \(.*\): save it as UTF-8"):
        read_rule_file(path)


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "null\n", "~\n", "{}\n", "---\n---\n"])
def test_empty_rule_files_hold_no_rules(tmp_path, text):
    path = tmp_path / "rules.yml"
    path.write_text(text)
    notes: list[str] = []
    assert read_rule_file(path, notes) == []
    assert notes == [f"{path}:1: empty: no rules"]


def test_rule_files_are_found_below_the_folder_in_any_case_but_not_hidden(tmp_path):
    for name in ("a.yml", "b.YAML", "c.json", "deep/er/d.Yml", "notes.txt", ".e.yml", ".git/f.yml", "x/.cache/g.yml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}\n")
    assert [p.relative_to(tmp_path).as_posix() for p in rule_files(tmp_path)] == [
        "a.yml", "b.YAML", "c.json", "deep/er/d.Yml"]


def test_json_rule_files_indented_with_tabs_read_with_lines(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"groups": [{"name": "g", "rules": [{"alert": "Json", "expr": "up"}]}]}, indent="\t"))
    assert [(r.name, r.line) for r in read_rule_file(path)] == [("Json", 7)]


PROMETHEUS_RULES = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: one}
spec:
  groups:
    - name: g
      rules:
        - alert: FromManifest
          expr: up == 0
---
apiVersion: v1
kind: Service
metadata: {name: skipped}
---
apiVersion: v1
kind: List
items:
  - apiVersion: monitoring.coreos.com/v1
    kind: PrometheusRule
    metadata: {name: two}
    spec:
      groups:
        - name: h
          rules:
            - alert: FromList
              expr: up == 0
---
"""


def test_prometheus_rule_manifests_are_read_from_spec_groups(tmp_path):
    path = tmp_path / "k8s.yaml"
    path.write_text(PROMETHEUS_RULES)
    notes: list[str] = []
    assert [(r.name, r.line) for r in read_rule_file(path, notes)] == [("FromManifest", 8), ("FromList", 25)]
    assert notes == [f"{path}:11: a Kubernetes Service, not a PrometheusRule: skipped"]


@pytest.mark.parametrize("text, problem", [
    ("- alert: X\n", "not a list"),
    ("rules:\n  - alert: X\n", "not a mapping of `rules`"),
    ("just text\n", "not a single value"),
])
def test_other_shapes_say_what_a_rule_file_is(tmp_path, text, problem):
    path = tmp_path / "rules.yml"
    path.write_text(text)
    with pytest.raises(AlertRulesError) as raised:
        read_rule_file(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:1: expected a Prometheus rule file (a `groups:` list of rule groups)")
    assert "kind: PrometheusRule, with the groups under `spec.groups:`" in message and message.endswith(problem)


def test_rule_files_parse_with_libyaml_when_it_is_there(tmp_path, monkeypatch):
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML without libyaml")

    def pure_python(*args, **kwargs):
        raise AssertionError("the pure-Python YAML composer parsed a rule file")

    monkeypatch.setattr(yaml.composer.Composer, "compose_document", pure_python)
    path = tmp_path / "platform.yml"
    path.write_text(RULES)
    assert [(r.name, r.line) for r in read_rule_file(path)] == [("WorkerQueueBackedUp", 6), ("AppDown", 15)]


# --- templated and external runbook_urls ---------------------------------------------------------

SITE = "https://runbooks.example.com/"
PAGES = {"runbooks/incidents/q/index.html": {"alert-workerqueuebackedup"}, "alerts/index.html": {"workerqueuebackedup"}}


def test_url_templates_expand_the_rule_name_and_labels_and_know_what_they_cannot():
    labels = {"team": "Core", "later": "{{ $labels.job }}"}
    template = url_template("https://x/{{ $labels.team | toLower }}/{{ .Labels.alertname | upper }}{{/* c */}}",
                            "Worker", labels)
    assert template is not None
    assert template.meant == "https://x/core/WORKER"
    assert template.rule_values == ("{{ $labels.team | toLower }}", "{{ .Labels.alertname | upper }}")
    assert template.unknown == ()
    assert url_template("https://x/y", "Worker", labels) is None
    assert url_template('https://x/{{ "y" }}', "Worker", labels).is_static
    for unknown in ("{{ $externalURL }}/r", "https://x/{{ $labels.job }}", "https://x/{{ $labels.later }}",
                    "https://x/{{ $externalLabels.cluster }}"):
        template = url_template(unknown, "Worker", labels)
        assert template.unknown and template.meant is None, unknown
    skipped = url_template('https://x/{{ reReplaceAll "a" "b" $labels.alertname }}', "Worker", labels)
    assert skipped.meant is None


def test_templated_runbook_urls_are_checked_as_prometheus_expands_them():
    rules = [
        _rule("https://runbooks.example.com/runbooks/incidents/q/#alert-{{ $labels.alertname | toLower }}"),
        _rule("https://runbooks.example.com/alerts/#{{ $labels.alertname }}"),
        _rule('https://runbooks.example.com/alerts/#{{ "workerqueuebackedup" }}'),
        _rule("{{ $externalURL }}/runbooks/q"),
    ]
    problems = [str(p) for p in check_runbook_urls(rules, SITE, PAGES)]
    assert len(problems) == 2
    assert "expands {{ $labels.alertname | toLower }} to an empty value when the alert fires" in problems[0]
    assert problems[0].endswith(
        "write the URL out: https://runbooks.example.com/runbooks/incidents/q/#alert-workerqueuebackedup")
    assert problems[1].endswith("write the URL out: https://runbooks.example.com/alerts/#WorkerQueueBackedUp "
                                "(which points to an anchor that does not exist (#WorkerQueueBackedUp))")
    assert unchecked_runbook_urls(rules) == [
        "monitoring/prometheus/alerts/worker.yml:6: alert WorkerQueueBackedUp: runbook_url "
        "{{ $externalURL }}/runbooks/q depends on {{ $externalURL }}, known only when the alert fires: not checked"]


def test_runbook_urls_under_an_accepted_prefix_are_not_checked():
    rules = [_rule("https://wiki.example.com/runbooks/q"), _rule("https://wiki.example.com/other/q")]
    problems = check_runbook_urls(rules, SITE, PAGES, ("https://wiki.example.com/runbooks/",))
    assert [p.rule.runbook_url for p in problems] == ["https://wiki.example.com/other/q"]
    assert "add its URL to the `external_runbook_prefixes` setting" in problems[0].problem


def test_external_runbook_prefixes_must_be_http_urls():
    config = load_config(str(REPO / "mkdocs.yml"))
    options = OpsbookConfig()
    options.load_dict({"external_runbook_prefixes": ["https://wiki.example.com/runbooks/"]})
    assert SiteSettings.from_config(config, options, {}).external_runbook_prefixes == (
        "https://wiki.example.com/runbooks/",)
    options.load_dict({"external_runbook_prefixes": ["javascript:alert(1)//"]})
    with pytest.raises(PluginError, match="'javascript:alert\\(1\\)//' is not an http\\(s\\) URL"):
        SiteSettings.from_config(config, options, {})


def test_every_site_setting_is_in_the_getting_started_table():
    guide = (REPO / "docs/getting-started.md").read_text()
    table = guide.split("## Site settings", 1)[1].split("\n## ", 1)[0]
    for name, _ in OpsbookConfig._schema:
        assert f"| `{name}` |" in table, f"docs/getting-started.md does not document the site setting {name}"


def test_the_site_sees_the_runbooks_the_cli_sees(tmp_path: Path):
    """With no runbooks_dir of its own, the site takes the project's folder and `exclude` setting."""
    import os

    from opsbook.site.config import OpsbookConfig, SiteSettings
    from opsbook.site.pages import load_runbooks
    from tests.support.runbooks import write_runbook

    (tmp_path / "opsbook.toml").write_text('runbooks_dir = "ops"\nexclude = ["drafts/*"]\n')
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text("site_name: x\n")
    write_runbook(tmp_path / "unused", "x", "", "")  # creates unused/runbooks/x.md: not the project's folder
    for rid in ("incidents/real", "drafts/wip"):
        path = tmp_path / "ops" / f"{rid}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((tmp_path / "unused" / "runbooks" / "x.md").read_text())
    options = OpsbookConfig()
    options.load_dict({})
    assert not options.validate()[0]
    settings = SiteSettings.from_config(load_config(str(tmp_path / "mkdocs.yml")), options, os.environ)
    assert settings.runbooks_dir == tmp_path / "ops"
    assert [rb.id for rb in load_runbooks(settings.runbooks_dir, settings.exclude)] == ["incidents/real"]
