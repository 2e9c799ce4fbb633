"""Which section of a runbook page answers an alert: the first section (a `##` heading or deeper)
whose prose names it (in a code span it is a quoted output, "`WorkerDown: resolved`", not an answer). The page's "Alerts it answers" list links it, so the alert's runbook_url
(`#alert-<name>`) leads to its section in one more click. Alerts named only in the introduction
have no section of their own: the whole page answers them."""

from __future__ import annotations

import re

from markdown.extensions.toc import slugify

from opsbook.runbook.model import Prose, Runbook

_HEADING = re.compile(r"^(#{2,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_MARKS = re.compile(r"[`*_]|\{#[^}]*\}")
_CODE_SPAN = re.compile(r"(`+).+?\1")


def alert_sections(runbook: Runbook) -> dict[str, tuple[str, str]]:
    """Alert name → (heading text, anchor) of the first section whose prose names it."""
    names = {alert: re.compile(rf"(?<![\w]){re.escape(alert)}(?![\w])") for alert in runbook.alerts}
    found: dict[str, tuple[str, str]] = {}
    heading: tuple[str, str] | None = None
    for cell in runbook.cells:
        if not isinstance(cell, Prose):
            continue
        fence = ""
        for line in cell.text.splitlines():
            marker = _FENCE.match(line)
            if fence:
                if marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
                    fence = ""
                continue
            if marker:
                fence = marker.group(1)
                continue
            match = _HEADING.match(line)
            if match:
                text = _INLINE_MARKS.sub("", match.group(2)).strip()
                heading = (text, slugify(text, "-"))
                continue
            if heading is None:
                continue
            words = _CODE_SPAN.sub("", line)
            for alert, pattern in names.items():
                if alert not in found and pattern.search(words):
                    found[alert] = heading
    return found
