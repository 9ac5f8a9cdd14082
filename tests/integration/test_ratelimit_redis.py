"""RedisRateLimiter against a real redis-server, including two processes sharing a limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.config import BackendConfig
from backend.errors import ApiError
from backend.ratelimit import RedisRateLimiter, make_rate_limiter
from tests.integration.platform_fixtures import redis_url

__all__ = ["redis_url"]

ROOT = Path(__file__).resolve().parents[2]

# Each worker process makes `hits` requests against the shared limit and reports how many
# were allowed and the Retry-After values it saw.
WORKER = """
import asyncio, json, sys
from backend.errors import ApiError
from backend.ratelimit import RedisRateLimiter

async def main(url, key, limit, hits):
    limiter = RedisRateLimiter.from_url(url)
    allowed, retry_after = 0, []
    for _ in range(hits):
        try:
            await limiter.hit(key, limit, 60)
            allowed += 1
        except ApiError as err:
            assert err.status == 429 and err.code == "rate_limited"
            retry_after.append(int(err.headers["Retry-After"]))
    await limiter.close()
    print(json.dumps({"allowed": allowed, "retry_after": retry_after}))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
"""


class FakeClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


async def test_limit_then_429_with_retry_after(redis_url: str) -> None:
    limiter = RedisRateLimiter.from_url(redis_url)
    try:
        for _ in range(3):
            await limiter.hit("user:a", 3, 60)
        with pytest.raises(ApiError) as err:
            await limiter.hit("user:a", 3, 60)
        assert (err.value.status, err.value.code) == (429, "rate_limited")
        assert 1 <= int(err.value.headers["Retry-After"]) <= 60
        await limiter.hit("user:b", 3, 60)  # other users have their own budget
    finally:
        await limiter.close()


async def test_window_slides_and_retry_after_counts_from_oldest(redis_url: str) -> None:
    clock = FakeClock()
    limiter = RedisRateLimiter.from_url(redis_url, clock=clock)
    try:
        await limiter.hit("k", 2, 10)  # t = 0
        clock.now += 4
        await limiter.hit("k", 2, 10)  # t = 4
        clock.now += 2
        with pytest.raises(ApiError) as err:  # t = 6: oldest frees at t = 10
            await limiter.hit("k", 2, 10)
        assert err.value.headers["Retry-After"] == "4"
        clock.now += 4.5  # t = 10.5: the first hit left the window
        await limiter.hit("k", 2, 10)
        with pytest.raises(ApiError) as err:  # t = 10.5: next frees at t = 14
            await limiter.hit("k", 2, 10)
        assert err.value.headers["Retry-After"] == "4"
    finally:
        await limiter.close()


async def test_keys_expire_in_redis(redis_url: str) -> None:
    limiter = RedisRateLimiter.from_url(redis_url, prefix="t:")
    try:
        await limiter.hit("ttl", 5, 30)
        ttl_ms = await limiter._client.pttl("t:ttl")
        assert 0 < ttl_ms <= 30_000  # idle users cost no memory after their window
    finally:
        await limiter.close()


async def test_make_rate_limiter_uses_redis_when_configured(redis_url: str, tmp_path: Path) -> None:
    limiter = make_rate_limiter(BackendConfig(data_dir=tmp_path, redis_url=redis_url))
    try:
        assert isinstance(limiter, RedisRateLimiter)
        await limiter.hit("x", 1, 60)
        with pytest.raises(ApiError):
            await limiter.hit("x", 1, 60)
    finally:
        await limiter.close()


async def test_unreachable_redis_is_a_503(tmp_path: Path) -> None:
    from backend.runner import free_port

    limiter = RedisRateLimiter.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(ApiError) as err:
            await limiter.hit("x", 1, 60)
        assert err.value.status == 503
    finally:
        await limiter.close()


def test_two_processes_share_one_limit(redis_url: str) -> None:
    limit, hits = 7, 10
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, redis_url, "shared-user", str(limit), str(hits)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    # Concurrent processes: exactly `limit` requests get through in total (atomic script).
    assert sum(r["allowed"] for r in results) == limit
    retry = [v for r in results for v in r["retry_after"]]
    assert len(retry) == 2 * hits - limit
    assert all(1 <= v <= 60 for v in retry)
