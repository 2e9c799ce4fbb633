"""Sharding: a disjoint, stable share of the runbooks per shard, and a sandbox per shard.

A runbook belongs to shard `hash(id) mod N`, so its shard never changes when other runbooks
are added or removed, and the N shards together cover every runbook exactly once. With few
runbooks a shard can be empty; it then passes without starting a sandbox.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from opsbook.errors import UsageError

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

    def owns(self, runbook_id: str) -> bool:
        digest = hashlib.sha256(runbook_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def select(self, runbooks: Iterable[T]) -> list[T]:
        return [r for r in runbooks if self.owns(r.id)]

    @property
    def project(self) -> str:
        """The shard's own compose project, so shards can run side by side on one machine."""
        return f"opsbook-shard-{self.index}-of-{self.count}"


def sandbox_project(shard: Shard | None, explicit: str | None = None) -> str:
    """The sandbox project verification uses: explicit, else per shard, else the default."""
    if explicit:
        return explicit
    return shard.project if shard is not None else VERIFY_PROJECT
