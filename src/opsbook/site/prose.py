"""A runbook's own Markdown (its prose) made fit for its page: links to other runbooks lead to their
pages, and raw HTML is shown as text.

Prose moves when it is published: `runbooks/incidents/x.md` becomes the page
`runbooks/incidents/x/index.md`, so a link written from the file to `../database/y.md` (which
works in the editor and on the code host) is rewritten to y's page, anchor kept; so is a link to a
page of the guide beside the runbooks (`../../docs/incident-response.md`). A runbook may
come from anywhere (an imported collection, a pull request), and nothing in it may become markup
on the site: `<script>`, `<img onerror=...>`, `<iframe>` and the like are written as text. Code
spans and fenced blocks are left alone (their content is text already); so are autolinks.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection

from opsbook.text import MD_CODE_SPAN, rewrite_link_targets

GUIDE_FROM_RUNBOOKS = "../docs/"
"""Where the site's own pages (mkdocs' docs_dir) are, seen from the runbooks folder."""
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_AUTOLINK = re.compile(r"<(?:https?|mailto|ftp):[^\s<>]*>")


def page_prose(text: str, runbook_id: str, page: str, runbook_ids: Collection[str]) -> str:
    """`text` (Markdown of the runbook `runbook_id`) as it goes on `page`."""
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence is not None:
            out.append(line)
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence) \
                    and not line.strip()[len(opened.group(1)):].strip():
                fence = None
            continue
        if opened:
            fence = opened.group(1)
            out.append(line)
            continue
        out.append(_inert_html(_page_links(line, runbook_id, page, runbook_ids)))
    return "\n".join(out)


def _inert_html(line: str) -> str:
    pieces: list[str] = []
    last = 0
    for span in MD_CODE_SPAN.finditer(line):
        pieces.append(_escape_tags(line[last:span.start()]))
        pieces.append(span.group(0))
        last = span.end()
    pieces.append(_escape_tags(line[last:]))
    return "".join(pieces)


def _escape_tags(text: str) -> str:
    kept: list[str] = []
    last = 0
    for link in _AUTOLINK.finditer(text):
        kept.append(_TAG_START.sub("&lt;", text[last:link.start()]))
        kept.append(link.group(0))
        last = link.end()
    kept.append(_TAG_START.sub("&lt;", text[last:]))
    return "".join(kept)


def _page_links(line: str, runbook_id: str, page: str, runbook_ids: Collection[str]) -> str:
    def target(href: str) -> str:
        path, hash_, anchor = href.partition("#")
        if not path.endswith(".md") or "://" in path or path.startswith(("/", "mailto:")):
            return href
        other = posixpath.normpath(posixpath.join(posixpath.dirname(runbook_id), path))[: -len(".md")]
        if other.startswith(GUIDE_FROM_RUNBOOKS):
            to_page = other[len(GUIDE_FROM_RUNBOOKS):] + ".md"  # docs/x.md is the site's x.md
        elif other in runbook_ids:
            to_page = f"runbooks/{other}/index.md"
        else:
            return href  # not a runbook: mkdocs checks it as it would any link
        relative = posixpath.relpath(to_page, posixpath.dirname(page) or ".")
        return relative + (hash_ + anchor if hash_ else "")

    return rewrite_link_targets(line, target)
