"""Check that every alert's runbook_url lands on a page and an anchor of the built site.

A runbook_url that starts with one of the site's `external_runbook_prefixes` is another team's
runbook and is not checked. A templated runbook_url is checked as Prometheus will expand it (see
opsbook.site.annotations): one that reads the alert name or a rule label from `$labels` is
dangling, and the problem names the URL its author meant; one that needs what only Prometheus
knows when the alert fires cannot be checked and is listed by `unchecked_runbook_urls`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from opsbook.site.alerts import AlertRule
from opsbook.site.annotations import url_template

_ID = re.compile(r"""\sid=(?:"([^"]*)"|'([^']*)')""")


def anchors_in(page_html: str) -> set[str]:
    """The ids an URL fragment can point to in a page's HTML."""
    return {html.unescape(m.group(1) if m.group(1) is not None else m.group(2)) for m in _ID.finditer(page_html)}


def page_keys(url: str) -> list[str]:
    """The paths under which a page can be reached: `a/b/index.html` is also `a/b/` (and `a/b`)."""
    url = url.lstrip("/")
    keys = [url]
    if url == "index.html" or url == "":
        return ["", "index.html"]
    if url.endswith("/index.html"):
        base = url[: -len("index.html")]
        keys += [base, base.rstrip("/")]
    elif url.endswith("/"):
        keys += [url + "index.html", url.rstrip("/")]
    return keys


@dataclass(frozen=True)
class DanglingUrl:
    rule: AlertRule
    problem: str

    def __str__(self) -> str:
        return f"{self.rule.where}: alert {self.rule.name}: runbook_url {self.rule.runbook_url} {self.problem}"


def runbook_elsewhere(url: str, prefixes: Sequence[str]) -> bool:
    """Whether a runbook_url is on another runbook site the site's settings accept."""
    return any(url.startswith(prefix) for prefix in prefixes)


class _SiteIndex:
    """The built site's pages (each under every path it can be reached by) and their anchors."""

    def __init__(self, site_url: str, pages: Mapping[str, set[str]]) -> None:
        self.site_url = site_url
        self.pages: dict[str, set[str]] = {}
        for url, page_anchors in pages.items():
            for key in page_keys(url):
                self.pages.setdefault(key, page_anchors)
        self.base = urlsplit(site_url or "")
        self.base_path = self.base.path if self.base.path.endswith("/") else self.base.path + "/"

    def problem(self, url: str) -> str:
        """Why `url` does not lead to a page and anchor of this site ("" if it does)."""
        target = urlsplit(url)
        if (target.scheme, target.netloc) != (self.base.scheme, self.base.netloc) or not (
            target.path + "/"
        ).startswith(self.base_path):
            return (f"is not on this site ({self.site_url}); if it is another runbook site, "
                    "add its URL to the `external_runbook_prefixes` setting")
        path = unquote(target.path[len(self.base_path):]) if len(target.path) >= len(self.base_path) else ""
        anchors = self.pages.get(path)
        if anchors is None:
            return f"points to a page that does not exist (/{path})"
        if target.fragment and unquote(target.fragment) not in anchors:
            return f"points to an anchor that does not exist (#{target.fragment})"
        return ""


def check_runbook_urls(
    rules: Iterable[AlertRule], site_url: str, pages: Mapping[str, set[str]], elsewhere: Sequence[str] = ()
) -> list[DanglingUrl]:
    """Every rule whose runbook_url does not resolve; `pages` maps page URL → anchors in it."""
    site = _SiteIndex(site_url, pages)
    dangling: list[DanglingUrl] = []
    for rule in rules:
        if not rule.runbook_url or runbook_elsewhere(rule.runbook_url, elsewhere):
            continue
        template = url_template(rule.runbook_url, rule.name, dict(rule.labels))
        if template is None or template.is_static:
            problem = site.problem(template.meant if template and template.meant else rule.runbook_url)
        elif template.rule_values:
            problem = _rule_values_problem(template.rule_values, template.meant, site)
        else:
            continue  # only Prometheus knows its value: see unchecked_runbook_urls
        if problem:
            dangling.append(DanglingUrl(rule, problem))
    return dangling


def _rule_values_problem(actions: Sequence[str], meant: str | None, site: _SiteIndex) -> str:
    problem = (
        f"expands {', '.join(actions)} to an empty value when the alert fires: Prometheus fills `$labels` "
        "with the labels of the series the expression returns and adds `alertname` and the rule's `labels:` "
        "only afterwards (prometheus/prometheus#2818)"
    )
    if meant is None:
        return problem + "; write the URL out"
    resolves = site.problem(meant)
    return problem + f"; write the URL out: {meant}" + (f" (which {resolves})" if resolves else "")


def unchecked_runbook_urls(rules: Iterable[AlertRule], elsewhere: Sequence[str] = ()) -> list[str]:
    """The runbook_urls no build can check: templates of what only Prometheus knows when the alert fires."""
    unchecked: list[str] = []
    for rule in rules:
        if not rule.runbook_url or runbook_elsewhere(rule.runbook_url, elsewhere):
            continue
        template = url_template(rule.runbook_url, rule.name, dict(rule.labels))
        if template is not None and template.unknown and not template.rule_values:
            unchecked.append(
                f"{rule.where}: alert {rule.name}: runbook_url {rule.runbook_url} depends on "
                f"{', '.join(template.unknown)}, known only when the alert fires: not checked"
            )
    return unchecked
