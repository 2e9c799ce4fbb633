"""Per-client token buckets for the API: each client may spend `rate` requests a second, `burst` at once.

Standard library only, no I/O: the app wraps its API routes with it, the tests drive it with a fake clock.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping


@dataclass
class Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per client key: full (`burst` tokens) at first, refilled at `rate` tokens a second.

    `acquire(client)` spends one token and answers 0.0, or answers how many seconds until the client
    has a token again (what a 429's Retry-After says). Buckets that have refilled completely carry
    no state worth keeping and are dropped once there are more than `max_clients`."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = 10_000) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1 (got rate={rate}, burst={burst})")
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, client: str) -> float:
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                if len(self._buckets) >= self.max_clients:
                    self._forget_full(now)
                bucket = self._buckets[client] = Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate

    def clients(self) -> int:
        with self._lock:
            return len(self._buckets)

    def _forget_full(self, now: float) -> None:
        full = [key for key, b in self._buckets.items() if b.tokens + (now - b.updated) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]


def retry_after(seconds: float) -> str:
    """Retry-After takes whole seconds: round up, and never tell a client to retry at once."""
    return str(max(1, math.ceil(seconds)))


def client_key(headers: Mapping[str, str], peer: str) -> str:
    """Who is asking: the bearer token if there is one (hashed: keys are kept in memory), else the
    first address of X-Forwarded-For (set by a proxy in front), else the socket's peer address."""
    authorization = headers.get("Authorization") or ""
    if authorization.startswith("Bearer ") and authorization[len("Bearer "):].strip():
        digest = hashlib.sha256(authorization[len("Bearer "):].strip().encode()).hexdigest()[:16]
        return f"token:{digest}"
    return f"addr:{client_address(headers, peer)}"


def client_address(headers: Mapping[str, str], peer: str) -> str:
    """The client's address: the first of X-Forwarded-For (set by a proxy in front), else the socket's peer."""
    forwarded = (headers.get("X-Forwarded-For") or "").split(",")[0].strip()
    return forwarded or peer or "unknown"
