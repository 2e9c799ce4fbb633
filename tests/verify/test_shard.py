"""Sharding: shards are disjoint, cover everything, are balanced by recorded durations (the same
split in every shard), and get their own sandbox; a merge names a missing or failed shard."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from opsbook.errors import UsageError
from opsbook.verify.shard import (
    DEFAULT_SECONDS,
    VERIFY_PROJECT,
    Shard,
    assign,
    recorded_durations,
    sandbox_project,
    weights,
)
from opsbook.verify.status import merge_problems


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


def test_shards_balance_by_recorded_durations_and_every_shard_computes_the_same_split() -> None:
    # A few long runbooks among many short ones: counting runbooks would put two long ones together.
    durations = {rid: (300.0 if n % 25 == 0 else 20.0 + n % 7) for n, rid in enumerate(IDS)}
    total = sum(durations.values())
    for count in (2, 4, 8):
        split = assign(IDS, count, durations)
        loads = [sum(durations[r] for r, i in split.items() if i == k) for k in range(1, count + 1)]
        assert max(loads) <= 1.05 * total / count, (count, loads)
        assert assign(list(reversed(IDS)), count, dict(reversed(list(durations.items())))) == split
        shares = [Shard(k, count).select([_Rb(i) for i in IDS], durations) for k in range(1, count + 1)]
        assert sorted(r.id for share in shares for r in share) == sorted(IDS)


def test_a_runbook_never_timed_counts_as_the_median_and_nothing_recorded_as_a_minute() -> None:
    assert weights(["a", "b", "c", "new"], {"a": 10, "b": 20, "c": 90}) == {"a": 10, "b": 20, "c": 90, "new": 20}
    assert set(weights(["x", "y"], {}).values()) == {DEFAULT_SECONDS}
    document = {"runbooks": {"a": {"duration": 12.5}, "b": {"duration": "slow"}, "c": {}}}
    assert recorded_durations(document) == {"a": 12.5}
    assert recorded_durations(None) == {}


def _shard_doc(index: int, count: int, results: dict[str, str]) -> dict:
    return {"schema": "opsbook-status/1", "generated_at": "2026-12-03T10:00:00Z", "commit": None,
            "shard": {"index": index, "count": count, "runbooks": sorted(results)},
            "runbooks": {rid: {"result": result, "verified_at": "2026-12-03T10:00:00Z", "cases": []}
                         for rid, result in results.items() if result != "lost"}}


def test_a_merge_names_the_missing_unfinished_and_failed_shards() -> None:
    good = [_shard_doc(1, 3, {"a": "passed"}), _shard_doc(2, 3, {"b": "passed"}), _shard_doc(3, 3, {"c": "passed"})]
    assert merge_problems(good) == []
    assert merge_problems(good[:2]) == ["shard 3/3 is missing: no status.json of it was given"]
    broken = [good[0], _shard_doc(2, 3, {"b": "failed", "d": "lost"}), good[2], good[2]]
    assert merge_problems(broken) == ["shard 3/3 was given 2 times", "shard 2/3: b failed",
                                      "shard 2/3 did not verify d (it stopped before, or its results were lost)"]


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
