"""The sandbox app's containment tools, with a fake Redis: the blocklist (blocklist.py) blocks by
address within its cache time and fails open when Redis does not answer; the API tokens (tokens.py)
rotate without a restart and a revoked token stays revoked."""

from __future__ import annotations

from typing import Any

from tests.support.sandbox_app import load_app_module

blocklist = load_app_module("blocklist")


class FakeRedis:
    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        self.reads = 0
        self.down = False

    def get(self, key: str) -> Any:
        self.reads += 1
        if self.down:
            raise ConnectionError("redis is down")
        return self.keys.get(key)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_blocked_address_is_refused_and_a_new_block_takes_effect_within_a_second() -> None:
    redis, clock = FakeRedis(), Clock()
    blocked = blocklist.Blocklist(redis, cache_seconds=1.0, clock=clock)
    assert blocked.reason("172.19.0.9") is None
    redis.keys["security:blocked:172.19.0.9"] = "replayed a revoked token"
    assert blocked.reason("172.19.0.9") is None, "cached for a second"
    clock.now += 1.0
    assert blocked.reason("172.19.0.9") == "replayed a revoked token"
    assert blocked.reason("172.19.0.10") is None
    reads = redis.reads
    for _ in range(100):
        blocked.reason("172.19.0.9")
    assert redis.reads == reads, "one Redis read per address per second, not per request"


def test_nobody_is_blocked_while_redis_does_not_answer() -> None:
    redis, clock = FakeRedis(), Clock()
    redis.keys["security:blocked:10.0.0.1"] = "flood"
    redis.down = True
    assert blocklist.Blocklist(redis, clock=clock).reason("10.0.0.1") is None


# --- API tokens rotated without a restart (sandbox/app/opsbook_app/tokens.py) -----------------------

tokens = load_app_module("tokens")


class FakeSets(FakeRedis):
    def __init__(self) -> None:
        super().__init__()
        self.sets: dict[str, set[str]] = {}

    def smembers(self, key: str) -> set[str]:
        self.reads += 1
        if self.down:
            raise ConnectionError("redis is down")
        return set(self.sets.get(key, set()))


def test_a_token_is_rotated_without_a_restart_new_accepted_beside_old_then_old_revoked() -> None:
    redis, clock = FakeSets(), Clock()
    accepted = tokens.ApiTokens(redis, "old-token-0123", clock=clock)
    assert accepted.accepts("old-token-0123") and not accepted.accepts("new-token-4567")
    redis.sets[tokens.VALID] = {tokens.digest("new-token-4567")}
    clock.now += 1
    assert accepted.accepts("new-token-4567") and accepted.accepts("old-token-0123"), "both while clients move"
    redis.sets[tokens.REVOKED] = {tokens.digest("old-token-0123")}
    clock.now += 1
    assert accepted.accepts("new-token-4567") and not accepted.accepts("old-token-0123")
    assert not accepted.accepts("anything-else")
    assert all("token" not in member for members in redis.sets.values() for member in members), "digests only"


def test_a_revoked_token_stays_revoked_while_redis_does_not_answer() -> None:
    redis, clock = FakeSets(), Clock()
    redis.sets[tokens.REVOKED] = {tokens.digest("old-token-0123")}
    accepted = tokens.ApiTokens(redis, "old-token-0123", clock=clock)
    assert not accepted.accepts("old-token-0123")
    redis.down = True
    clock.now += 5
    assert not accepted.accepts("old-token-0123")
