"""Per-key rate limiting: token buckets per API key, in memory or shared through Redis.

``make_rate_limiter`` picks Redis when ``PATENTMATCH_REDIS_URL`` is set, so that replicas and
``--workers`` processes enforce one limit together; otherwise each process keeps its own.
"""

import logging
import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Protocol

import redis

from app.errors import RateLimited
from app.settings import Settings

log = logging.getLogger("patentmatch.api.ratelimit")


class Limiter(Protocol):
    """Takes one request's token for a key or raises ``RateLimited``."""

    def hit(self, key_id: int) -> None:
        """Take a token for ``key_id``."""
        ...


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets of ``per_minute`` capacity that refill continuously.

    In memory: each process enforces the limit separately (``RedisRateLimiter`` shares it).
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


# A token bucket per key in a Redis hash; Redis's clock, so that replicas' clocks do not matter.
_BUCKET_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(b[1]) or capacity
local updated = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {allowed, tostring(tokens)}
"""


class RedisRateLimiter:
    """The same token buckets, kept in Redis and shared by every process that uses it.

    When Redis cannot be reached the request is limited by an in-process bucket instead:
    a Redis outage must not take the API down with it.
    """

    def __init__(self, client: redis.Redis, per_minute: int, prefix: str = "pm:rl:") -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._client = client
        self._script = client.register_script(_BUCKET_SCRIPT)
        self._prefix = prefix
        self._fallback = RateLimiter(per_minute)

    def hit(self, key_id: int) -> None:
        """Take a token for ``key_id`` from its shared bucket."""
        if self.capacity <= 0:
            return
        try:
            allowed, tokens = self._script(
                keys=[f"{self._prefix}{key_id}"], args=[self.capacity, self.rate]
            )
        except redis.RedisError as exc:
            log.warning("rate limiting in-process: Redis unavailable (%s)", exc)
            self._fallback.hit(key_id)
            return
        if int(allowed):
            return
        wait = (1.0 - float(tokens)) / self.rate
        raise RateLimited(
            f"rate limit of {int(self.capacity)} requests per minute exceeded",
            retry_after=max(1, math.ceil(wait)),
        )


def make_rate_limiter(settings: Settings) -> Limiter:
    """Redis-backed when ``settings.redis_url`` is set, else in-process."""
    if settings.redis_url:
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=0.5)
        return RedisRateLimiter(client, settings.rate_limit_per_minute)
    return RateLimiter(settings.rate_limit_per_minute)
