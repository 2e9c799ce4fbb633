"""Sharding: shards are disjoint, cover everything, are stable, and get their own sandbox."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from opsbook.errors import UsageError
from opsbook.verify.shard import VERIFY_PROJECT, Shard, sandbox_project


@dataclass(frozen=True)
class _Rb:
    id: str


IDS = [f"area{i % 7}/runbook-{i}" for i in range(200)]


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_are_disjoint_and_cover_everything(count: int) -> None:
    runbooks = [_Rb(i) for i in IDS]
    shares = [Shard(i, count).select(runbooks) for i in range(1, count + 1)]
    seen = [r.id for share in shares for r in share]
    assert sorted(seen) == sorted(IDS)
    assert len(seen) == len(set(seen))
    if count > 1:
        assert all(share for share in shares), "200 runbooks should reach every shard"


def test_a_runbook_keeps_its_shard_when_others_are_added() -> None:
    shard = Shard(2, 3)
    before = {r.id for r in shard.select([_Rb(i) for i in IDS[:50]])}
    after = {r.id for r in shard.select([_Rb(i) for i in IDS])}
    assert before <= after


def test_parse_and_projects() -> None:
    assert Shard.parse("2/3") == Shard(2, 3)
    assert Shard.parse(" 1 / 1 ") == Shard(1, 1)
    for bad in ("0/3", "4/3", "1/0", "a/b", "1-3", ""):
        with pytest.raises(UsageError, match="I/N|between"):
            Shard.parse(bad)
    assert sandbox_project(Shard(1, 3)) == "opsbook-shard-1-of-3"
    assert sandbox_project(None) == VERIFY_PROJECT
    assert sandbox_project(Shard(1, 3), "mine") == "mine"
    assert len({sandbox_project(Shard(i, 3)) for i in (1, 2, 3)}) == 3
