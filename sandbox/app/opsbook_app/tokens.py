"""The API tokens the app accepts, rotated without a restart: the token it started with
(APP_API_TOKEN), plus the tokens whose SHA-256 digests are in the Redis set
`security:api-tokens:valid`, minus those in `security:api-tokens:revoked` (the security incident
runbook rotates a leaked token this way: new one valid, clients moved, old one revoked).

Only digests are stored, so Redis never holds a usable token. The sets are read at most once a
second. When Redis does not answer, the last sets read stay in force (a revoked token stays
revoked); before any could be read, the start token alone is valid.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from typing import Any, Callable

VALID = "security:api-tokens:valid"
REVOKED = "security:api-tokens:revoked"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokens:
    def __init__(self, redis: Any, start_token: str, cache_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.start_digest = digest(start_token)
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._read_at: float | None = None
        self._valid: frozenset[str] = frozenset()
        self._revoked: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def accepts(self, token: str) -> bool:
        """Whether `token` is a valid API token now."""
        self._refresh()
        wanted = digest(token)
        if wanted in self._revoked:
            return False
        return hmac.compare_digest(wanted, self.start_digest) or wanted in self._valid

    def _refresh(self) -> None:
        now = self.clock()
        with self._lock:
            if self._read_at is not None and now - self._read_at < self.cache_seconds:
                return
            self._read_at = now
        try:
            valid, revoked = frozenset(self.redis.smembers(VALID)), frozenset(self.redis.smembers(REVOKED))
        except Exception:  # noqa: BLE001 - keep what was read last, see the module docstring
            return
        with self._lock:
            self._valid, self._revoked = valid, revoked
