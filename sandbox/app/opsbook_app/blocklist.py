"""Clients an operator has blocked: one Redis key per address, `security:blocked:<address>`, whose value
is the reason and whose expiry ends the block (the security incident runbook sets them).

Every API request asks whether its client is blocked, so the answer is kept for a second per address:
a block takes effect within a second, at one Redis read per client per second. When Redis does not
answer, nobody is blocked: a Redis outage must not turn into an outage of the API.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

PREFIX = "security:blocked:"


class Blocklist:
    def __init__(self, redis: Any, cache_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def reason(self, address: str) -> str | None:
        """Why `address` is blocked, or None if it is not (or Redis cannot say)."""
        now = self.clock()
        with self._lock:
            cached = self._cache.get(address)
            if cached and now - cached[0] < self.cache_seconds:
                return cached[1]
        try:
            value = self.redis.get(PREFIX + address)
        except Exception:  # noqa: BLE001 - fail open, see the module docstring
            value = None
        reason = None if value is None else (str(value) or "blocked")
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[address] = (now, reason)
        return reason
