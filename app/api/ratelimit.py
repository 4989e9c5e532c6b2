"""Per-key rate limiting: an in-memory token bucket per API key, held in ``app.state``."""

import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from app.errors import RateLimited


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets of ``per_minute`` capacity that refill continuously.

    In-memory by design: one process serves the API here; several workers would each
    enforce the limit separately, which is acceptable for abuse protection.
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._buckets: dict[Hashable, _Bucket] = {}
        # Sync endpoints run in a thread pool, so buckets are shared between threads.
        self._lock = threading.Lock()

    def hit(self, key_id: Hashable) -> None:
        """Take a token for ``key_id``; raise ``RateLimited`` (with Retry-After) if none is left."""
        self._take(key_id, consume=True)

    def check(self, key_id: Hashable) -> None:
        """Raise ``RateLimited`` if ``key_id`` has no token left, without taking one."""
        self._take(key_id, consume=False)

    def _take(self, key_id: Hashable, *, consume: bool) -> None:
        if self.capacity <= 0:
            return  # a limit of 0 disables limiting
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None:
                bucket = self._buckets[key_id] = _Bucket(self.capacity, now)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0 if consume else 0.0
                return
            wait = (1.0 - bucket.tokens) / self.rate
        raise RateLimited(
            f"rate limit of {int(self.capacity)} requests per minute exceeded",
            retry_after=max(1, math.ceil(wait)),
        )
