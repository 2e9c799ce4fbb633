"""The runbook catalogue for the terminal: filter, list and full-text search runbooks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from opsbook.runbook.model import Prose, Runbook, Step


@dataclass(frozen=True)
class Hit:
    """A runbook matching a search, with where it matched and a line of context."""

    runbook: Runbook
    score: int
    where: str  # "title", "alert", "step <name>", "prose" ...
    context: str


def filter_runbooks(runbooks: Sequence[Runbook], *, tag: str | None = None, service: str | None = None,
                    alert: str | None = None) -> list[Runbook]:
    def keep(rb: Runbook) -> bool:
        return ((tag is None or tag in rb.tags) and (service is None or service in rb.services)
                and (alert is None or alert.lower() in (a.lower() for a in rb.alerts)))

    return [rb for rb in runbooks if keep(rb)]


def _fields(rb: Runbook) -> list[tuple[str, int, str]]:
    """(where, weight, text) for every searchable part of a runbook."""
    fields = [("title", 10, rb.title), ("id", 8, rb.id), ("summary", 5, rb.summary)]
    fields += [("alert", 10, a) for a in rb.alerts]
    fields += [("service", 4, s) for s in rb.services] + [("tag", 4, t) for t in rb.tags]
    for cell in rb.cells:
        if isinstance(cell, Step):
            fields.append((f"step {cell.index} {cell.name}", 6, cell.name))
            fields.append((f"step {cell.index} {cell.name}", 3, cell.source))
        elif isinstance(cell, Prose):
            fields.append(("prose", 2, cell.text))
    return fields


def search(runbooks: Sequence[Runbook], query: str) -> list[Hit]:
    """Runbooks containing every word of `query` (case-insensitive), best first."""
    words = [w for w in re.split(r"\s+", query.lower().strip()) if w]
    if not words:
        return []
    hits = []
    for rb in runbooks:
        fields = _fields(rb)
        everything = "\n".join(text.lower() for _, _, text in fields)
        if not all(w in everything for w in words):
            continue
        score = 0
        best: tuple[int, str, str] = (0, "", "")
        for where, weight, text in fields:
            lowered = text.lower()
            found = sum(lowered.count(w) for w in words)
            if found:
                score += weight * found
                if weight > best[0]:
                    best = (weight, where, _context(text, words[0]))
        hits.append(Hit(rb, score, best[1], best[2]))
    return sorted(hits, key=lambda h: (-h.score, h.runbook.id))


def _context(text: str, word: str) -> str:
    for line in text.splitlines():
        if word in line.lower():
            return line.strip()[:120]
    return text.strip().splitlines()[0][:120] if text.strip() else ""
