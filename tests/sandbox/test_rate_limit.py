"""The sandbox app's per-client rate limiter (sandbox/app/opsbook_app/ratelimit.py), with a fake clock."""

from __future__ import annotations

import pytest

from tests.support.sandbox_app import load_app_module

ratelimit = load_app_module("ratelimit")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = ratelimit.RateLimiter(rate=20, burst=40, clock=clock)
    assert [limiter.acquire("a") for _ in range(40)] == [0.0] * 40
    wait = limiter.acquire("a")
    assert wait == pytest.approx(1 / 20)
    clock.now += 0.5  # half a second refills ten tokens
    assert sum(limiter.acquire("a") == 0.0 for _ in range(12)) == 10


def test_steady_traffic_under_the_rate_is_never_limited() -> None:
    """The synthetic users send 4 requests a second, all from one token: none may be refused."""
    clock = Clock()
    limiter = ratelimit.RateLimiter(rate=20, burst=40, clock=clock)
    for _ in range(4 * 600):
        assert limiter.acquire("token:synthetic") == 0.0
        clock.now += 0.25


def test_a_flood_is_held_to_the_rate_and_other_clients_keep_their_budget() -> None:
    clock = Clock()
    limiter = ratelimit.RateLimiter(rate=20, burst=40, clock=clock)
    allowed = 0
    for _ in range(60 * 10):  # 60 requests a second for ten seconds
        allowed += limiter.acquire("addr:10.0.0.9") == 0.0
        clock.now += 1 / 60
    assert 40 + 20 * 10 - 2 <= allowed <= 40 + 20 * 10 + 1
    assert limiter.acquire("addr:10.0.0.10") == 0.0


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert ratelimit.retry_after(0.05) == "1"
    assert ratelimit.retry_after(1.0) == "1"
    assert ratelimit.retry_after(1.2) == "2"


def test_full_buckets_are_forgotten_when_there_are_too_many_clients() -> None:
    clock = Clock()
    limiter = ratelimit.RateLimiter(rate=1, burst=2, clock=clock, max_clients=3)
    for client in ("a", "b", "c"):
        limiter.acquire(client)
    clock.now += 5  # all three have refilled: nothing worth keeping
    limiter.acquire("d")
    assert limiter.clients() == 1


def test_the_client_is_the_token_else_the_forwarded_address_else_the_peer() -> None:
    key = ratelimit.client_key
    assert key({"Authorization": "Bearer s3cret"}, "10.0.0.1").startswith("token:")
    assert "s3cret" not in key({"Authorization": "Bearer s3cret"}, "10.0.0.1")
    assert key({"Authorization": "Bearer s3cret"}, "10.0.0.1") == key({"Authorization": "Bearer s3cret"}, "10.0.0.2")
    assert key({"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}, "10.0.0.1") == "addr:203.0.113.7"
    assert key({}, "10.0.0.1") == "addr:10.0.0.1"


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        ratelimit.RateLimiter(rate=0, burst=10)
