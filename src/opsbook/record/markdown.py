"""Untrusted text (what a command printed, a name from a record) as Markdown that renders as that text.

`literal(text)` is for a table cell, or a line of prose after text of our own. It never becomes markup in CommonMark,
GitHub's Markdown or Python-Markdown with the site's extensions: every character those read as
syntax inline (emphasis, code, links, images, raw HTML, entities, table pipes, strikethrough,
emoji, keys, bare-URL links) is written as a numeric character reference, which every one of
them shows as the character and none of them reads as syntax. Line breaks become ` ⏎ `, so
nothing can start a block (a heading, a list, a fence) either.
"""

from __future__ import annotations

import re

from opsbook.text import printable, terminal_text

_SYNTAX = frozenset("\\`*_[]()<>&|~!:@={}^+#$")
"""Characters with an inline meaning in some Markdown the draft may be pasted into."""

_WWW = re.compile(r"(?i)(www)\.")
"""`www.example.com` is a link in GitHub's Markdown without any syntax character."""

LINE_BREAK = " ⏎ "


def literal(text: str, limit: int | None = None) -> str:
    """``text`` on one line, shown as itself wherever the Markdown is rendered.

    Escapes and control characters are dropped first (as the terminal showed the text);
    ``limit`` cuts the visible text to that many characters, ending with ``…``.
    """
    shown = LINE_BREAK.join(line.strip() for line in printable(terminal_text(text)).splitlines() if line.strip())
    shown = shown.replace("\t", " ")
    if limit is not None and len(shown) > limit:
        shown = shown[: max(0, limit - 1)].rstrip() + "…"
    escaped = "".join(f"&#{ord(c)};" if c in _SYNTAX else c for c in shown)
    return _WWW.sub(r"\1&#46;", escaped)
