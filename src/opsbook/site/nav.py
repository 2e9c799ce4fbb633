"""The site navigation: `Title: runbooks/<area>/` entries of mkdocs.yml expanded to the runbook pages.

The titles this module adds are runbook titles and folder names, shown in the navigation of every
page; mkdocs prints nav titles unescaped, so they are escaped text, as Markup so that a template's
own `| e` (Material's footer) does not escape them a second time.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

from opsbook.runbook.model import Runbook
from opsbook.site import render

_AREA_ENTRY = re.compile(r"^runbooks/([^/]+)/$")


def expand_nav(nav: list[Any], runbooks: list[Runbook], generated: set[str]) -> list[Any]:
    """Replace nav entries `Title: runbooks/<area>/` by that area's pages and `Title: runbooks/`
    by every area; areas the nav does not name are added after the last area it does name."""
    by_area: dict[str, list[Runbook]] = {}
    for rb in sorted(runbooks, key=lambda r: r.title.lower()):
        by_area.setdefault(render.area_of(rb.id), []).append(rb)

    def area_section(area: str) -> list[Any]:
        items: list[Any] = []
        index = render.area_page_path(area)
        if area and index in generated:
            items.append(index)
        items.extend({_title(rb.title): render.runbook_page_path(rb.id)} for rb in by_area.get(area, []))
        return items

    named: set[str] = set()
    for entry in _walk(nav):
        if entry == "runbooks/":
            named.update(by_area)
        match = _AREA_ENTRY.match(entry) if isinstance(entry, str) else None
        if match:
            named.add(match.group(1))
    unnamed = [a for a in sorted(by_area) if a not in named]

    def expand(items: list[Any]) -> list[Any]:
        result: list[Any] = []
        last_area = -1
        for item in items:
            if isinstance(item, dict) and len(item) == 1:
                (title, value), = item.items()
                if value == "runbooks/":
                    sections: list[Any] = [render.RUNBOOKS_PAGE] if render.RUNBOOKS_PAGE in generated else []
                    sections += [{_title(render.area_title(a)): area_section(a)} for a in sorted(by_area)]
                    result.append({title: sections})
                    continue
                match = _AREA_ENTRY.match(value) if isinstance(value, str) else None
                if match:
                    result.append({title: area_section(match.group(1))})
                    last_area = len(result)
                    continue
                if isinstance(value, list):
                    result.append({title: expand(value)})
                    continue
            result.append(item)
        if last_area >= 0 and unnamed:
            result[last_area:last_area] = [{_title(render.area_title(a)): area_section(a)} for a in unnamed]
            unnamed.clear()
        return result

    return expand(nav)


def _title(text: str) -> Markup:
    return Markup(render.page_text(text))


def _walk(nav: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(nav, list):
        for item in nav:
            found.extend(_walk(item))
    elif isinstance(nav, dict):
        for value in nav.values():
            found.extend(_walk(value))
    else:
        found.append(nav)
    return found
