"""Per-user sliding-window rate limits (a log of hit times per key), like the web app's.

``MemoryRateLimiter`` serves a single backend process; ``RedisRateLimiter`` shares the
limit between processes through a Redis sorted set updated by one atomic Lua script.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis

from backend.config import BackendConfig
from backend.errors import ApiError

Clock = Callable[[], float]


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: float) -> None:
        """Count one request for ``key``; raises ApiError 429 when over ``limit``."""
        ...

    async def close(self) -> None: ...


def rate_limited(retry_after_s: float) -> ApiError:
    seconds = max(1, math.ceil(retry_after_s))
    unit = "second" if seconds == 1 else "seconds"
    return ApiError(
        429,
        "rate_limited",
        f"Too many requests. Please wait {seconds} {unit} and try again.",
        headers={"Retry-After": str(seconds)},
    )


def _check_args(limit: int, window_s: float) -> None:
    if limit < 1 or window_s <= 0:
        raise ValueError("A rate limit needs limit >= 1 and a positive window.")


class MemoryRateLimiter:
    """In-process sliding window. A plain lock (not asyncio's) keeps it safe whichever
    thread or loop calls it; every critical section is a few list operations."""

    def __init__(self, clock: Clock = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._log: dict[str, deque[float]] = {}
        self._windows: dict[str, float] = {}
        self._lock = threading.Lock()
        self._hits_since_sweep = 0

    async def hit(self, key: str, limit: int, window_s: float) -> None:
        _check_args(limit, window_s)
        with self._lock:
            now = self._clock()
            self._maybe_sweep(now)
            log = self._log.setdefault(key, deque())
            self._windows[key] = window_s
            _prune(log, now - window_s)
            # A smaller limit than before must not keep more entries than it needs.
            while len(log) > limit:
                log.popleft()
            if len(log) >= limit:
                raise rate_limited(log[0] + window_s - now)
            log.append(now)

    def _maybe_sweep(self, now: float) -> None:
        """Drop keys with no recent hits so memory stays bounded by active users."""
        self._hits_since_sweep += 1
        if self._hits_since_sweep < 1000 and len(self._log) < self._max_keys:
            return
        self._hits_since_sweep = 0
        for key in list(self._log):
            log = self._log[key]
            _prune(log, now - self._windows.get(key, 0.0))
            if not log:
                del self._log[key]
                self._windows.pop(key, None)

    def tracked_keys(self) -> int:
        with self._lock:
            return len(self._log)

    async def close(self) -> None:
        return None


def _prune(log: deque[float], cutoff: float) -> None:
    while log and log[0] <= cutoff:
        log.popleft()


# KEYS[1] = the sorted set; ARGV = now_ms (or "" to use Redis' own clock), window_ms,
# limit, unique member. Returns {1, 0} when allowed, {0, retry_after_ms} when limited.
# Using the server's TIME by default keeps several backend hosts on one clock.
_SLIDING_WINDOW_LUA = """
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local retry = window
  if oldest[2] then retry = tonumber(oldest[2]) + window - now end
  return {0, retry}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
"""


class RedisRateLimiter:
    """Sliding window shared by every backend process pointed at the same Redis."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = "imagegen:rl:",
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._prefix = prefix
        # None -> Redis' TIME; tests inject a clock to move through windows without sleeping.
        self._clock = clock
        self._script = client.register_script(_SLIDING_WINDOW_LUA)

    @classmethod
    def from_url(cls, url: str, **kwargs: object) -> RedisRateLimiter:
        client = aioredis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        return cls(client, **kwargs)  # type: ignore[arg-type]

    async def hit(self, key: str, limit: int, window_s: float) -> None:
        _check_args(limit, window_s)
        now_ms = "" if self._clock is None else str(int(self._clock() * 1000))
        window_ms = max(1, int(window_s * 1000))
        member = f"{now_ms or 'srv'}-{secrets.token_hex(8)}"
        try:
            allowed, retry_ms = await self._script(
                keys=[self._prefix + key], args=[now_ms, window_ms, limit, member]
            )
        except aioredis.RedisError as exc:
            raise ApiError(
                503,
                "rate_limit_unavailable",
                "The rate-limit service is unavailable. Please try again shortly.",
            ) from exc
        if int(allowed) != 1:
            raise rate_limited(int(retry_ms) / 1000.0)

    async def close(self) -> None:
        await self._client.aclose()


def make_rate_limiter(config: BackendConfig) -> RateLimiter:
    if config.redis_url:
        return RedisRateLimiter.from_url(config.redis_url)
    return MemoryRateLimiter()
