"""The in-memory sliding-window limiter (the Redis one is in tests/integration)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend.config import BackendConfig
from backend.errors import ApiError
from backend.ratelimit import MemoryRateLimiter, make_rate_limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def limited(limiter: MemoryRateLimiter, key: str, limit: int, window: float) -> ApiError:
    with pytest.raises(ApiError) as err:
        await limiter.hit(key, limit, window)
    return err.value


async def test_limit_then_429_with_retry_after() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock)
    for _ in range(3):
        await limiter.hit("u1", 3, 60)
    err = await limited(limiter, "u1", 3, 60)
    assert (err.status, err.code) == (429, "rate_limited")
    assert err.headers == {"Retry-After": "60"}
    assert "60 seconds" in err.message
    await limiter.hit("u2", 3, 60)  # a separate budget per key


async def test_window_slides() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock)
    await limiter.hit("k", 2, 10)  # t = 0
    clock.now += 4
    await limiter.hit("k", 2, 10)  # t = 4
    clock.now += 5.5
    err = await limited(limiter, "k", 2, 10)  # t = 9.5: the first hit frees at t = 10
    assert err.headers["Retry-After"] == "1"
    assert "1 second " in err.message
    clock.now += 0.5
    await limiter.hit("k", 2, 10)  # t = 10: exactly one window later, it has left
    err = await limited(limiter, "k", 2, 10)
    assert err.headers["Retry-After"] == "4"


async def test_refused_hits_do_not_extend_the_wait() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock)
    await limiter.hit("k", 1, 30)
    for _ in range(5):
        clock.now += 1
        await limited(limiter, "k", 1, 30)
    clock.now += 25
    await limiter.hit("k", 1, 30)


async def test_concurrent_hits_never_exceed_the_limit() -> None:
    limiter = MemoryRateLimiter()

    async def one() -> bool:
        try:
            await limiter.hit("k", 25, 60)
            return True
        except ApiError:
            return False

    results = await asyncio.gather(*(one() for _ in range(100)))
    assert sum(results) == 25


async def test_memory_stays_bounded() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock, max_keys=50)
    for i in range(40):
        await limiter.hit(f"old-{i}", 5, 10)
    clock.now += 11  # every old key's window has passed
    for i in range(2000):
        await limiter.hit(f"new-{i % 30}", 1000, 10)
    assert limiter.tracked_keys() <= 50


async def test_bad_arguments() -> None:
    limiter = MemoryRateLimiter()
    with pytest.raises(ValueError):
        await limiter.hit("k", 0, 60)
    with pytest.raises(ValueError):
        await limiter.hit("k", 1, 0)


def test_factory_defaults_to_memory(tmp_path: Path) -> None:
    assert isinstance(make_rate_limiter(BackendConfig(data_dir=tmp_path)), MemoryRateLimiter)
