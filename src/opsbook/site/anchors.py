"""Check that every alert's runbook_url lands on a page and an anchor of the built site."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from opsbook.site.alerts import AlertRule

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


def check_runbook_urls(
    rules: Iterable[AlertRule], site_url: str, pages: Mapping[str, set[str]]
) -> list[DanglingUrl]:
    """Every rule whose runbook_url does not resolve; `pages` maps page URL → anchors in it."""
    index: dict[str, set[str]] = {}
    for url, page_anchors in pages.items():
        for key in page_keys(url):
            index.setdefault(key, page_anchors)
    base = urlsplit(site_url or "")
    base_path = base.path if base.path.endswith("/") else base.path + "/"
    dangling: list[DanglingUrl] = []
    for rule in rules:
        if not rule.runbook_url:
            continue
        target = urlsplit(rule.runbook_url)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc) or not (target.path + "/").startswith(
            base_path
        ):
            dangling.append(DanglingUrl(rule, f"is not on this site ({site_url})"))
            continue
        path = unquote(target.path[len(base_path):]) if len(target.path) >= len(base_path) else ""
        anchors = index.get(path)
        if anchors is None:
            dangling.append(DanglingUrl(rule, f"points to a page that does not exist (/{path})"))
        elif target.fragment and unquote(target.fragment) not in anchors:
            dangling.append(DanglingUrl(rule, f"points to an anchor that does not exist (#{target.fragment})"))
    return dangling
