"""Sharding: a disjoint share of the runbooks per shard, balanced by time, and a sandbox per shard.

Every shard computes the same assignment from the same inputs (the runbook ids and the durations
recorded in the last status.json): the longest runbook first, each to the shard with the least
time so far (the greedy "longest processing time" rule), so the slowest shard comes close to
total/N. A runbook with no recorded duration counts as the median of those recorded (60 s when
none is). The N shards together cover every runbook exactly once; with few runbooks a shard
can be empty, and then passes without starting a sandbox.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from opsbook.errors import UsageError

DEFAULT_SECONDS = 60.0
"""A runbook's weight when no duration was ever recorded."""

VERIFY_PROJECT = "opsbook-verify"
"""Sandbox project of an unsharded verification; apart from the one `opsbook sandbox up` uses."""


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasId)


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`"2/3"` → Shard(2, 3); anything else is a UsageError that shows the form."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match:
            raise UsageError(f"--shard {text!r}: expected I/N, e.g. --shard 1/3")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1 or not 1 <= index <= count:
            raise UsageError(f"--shard {text!r}: I must be between 1 and N (N >= 1), e.g. --shard 1/3")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def share(self, runbook_ids: Iterable[str], durations: Mapping[str, float] | None = None) -> set[str]:
        """The ids of this shard's runbooks; `runbook_ids` must be the whole selection, the same
        for every shard."""
        return {rid for rid, index in assign(runbook_ids, self.count, durations or {}).items() if index == self.index}

    def select(self, runbooks: Iterable[T], durations: Mapping[str, float] | None = None) -> list[T]:
        """This shard's runbooks, in their order."""
        listed = list(runbooks)
        mine = self.share((r.id for r in listed), durations)
        return [r for r in listed if r.id in mine]

    @property
    def project(self) -> str:
        """The shard's own compose project, so shards can run side by side on one machine."""
        return f"opsbook-shard-{self.index}-of-{self.count}"


def sandbox_project(shard: Shard | None, explicit: str | None = None) -> str:
    """The sandbox project verification uses: explicit, else per shard, else the default."""
    if explicit:
        return explicit
    return shard.project if shard is not None else VERIFY_PROJECT


def weights(runbook_ids: Iterable[str], durations: Mapping[str, float]) -> dict[str, float]:
    """Each runbook's expected seconds: its recorded duration, else the median recorded."""
    ids = list(runbook_ids)
    known = [float(durations[i]) for i in ids if i in durations and durations[i] > 0]
    fallback = statistics.median(known) if known else DEFAULT_SECONDS
    return {i: float(durations[i]) if durations.get(i, 0) > 0 else fallback for i in ids}


def assign(runbook_ids: Iterable[str], count: int, durations: Mapping[str, float],
           head_start: Mapping[int, float] | None = None) -> dict[str, int]:
    """Each runbook's shard (1-based): longest first to the least loaded shard, ties broken by id
    and by the lower shard, so the result depends on nothing but the arguments. `head_start`:
    seconds some shards are busy with before their first runbook (other tests sharing their sandbox)."""
    loads = [float((head_start or {}).get(index + 1, 0.0)) for index in range(count)]
    shard_of: dict[str, int] = {}
    expected = weights(set(runbook_ids), durations)
    for rid in sorted(expected, key=lambda i: (-expected[i], i)):
        index = min(range(count), key=lambda k: (loads[k], k))
        loads[index] += expected[rid]
        shard_of[rid] = index + 1
    return shard_of


def recorded_durations(document: Mapping[str, object] | None) -> dict[str, float]:
    """Per runbook, the seconds its last verification took (a status.json document; {} for none)."""
    runbooks = document.get("runbooks") if document else None
    if not isinstance(runbooks, Mapping):
        return {}
    found = {}
    for rid, entry in runbooks.items():
        seconds = entry.get("duration") if isinstance(entry, Mapping) else None
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0:
            found[str(rid)] = float(seconds)
    return found
