"""The sandbox app's blocklist (sandbox/app/opsbook_app/blocklist.py): blocks by address, takes effect
within its cache time, and fails open when Redis does not answer."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

SOURCE = Path(__file__).resolve().parents[2] / "sandbox" / "app" / "opsbook_app" / "blocklist.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sandbox_blocklist", SOURCE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


blocklist = _load()


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
