"""Cross-process wake-ups over Redis pub/sub (redis-py's asyncio client).

Chosen when ``REDIS_URL`` is set on a shared (PostgreSQL) database: the rate limiter
already depends on that Redis, and PostgreSQL keeps its connections for queries.

One subscription connection per process fans each message out to the process's waiters;
publishes go through the client's pool. A message carries ``<sender id>|<key>`` so a
process skips its own (their waiters were woken directly). The subscription pings every
``PING_S``; when it drops, every waiter is woken (it may have missed a message) and it
is re-established with a growing backoff, waking them again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from backend.storage.notify import CHANNELS, DEFAULT_RECHECK_S
from backend.storage.notify_listener import PING_S, START_WAIT_S, ListeningNotifier, Receive

_PREFIX = "imagegen:wake:"


def redis_channel(channel: str) -> str:
    return _PREFIX + channel


class RedisNotifier(ListeningNotifier):
    service = "Redis"
    lost_errors = (RedisError, OSError)

    def __init__(self, url: str, recheck_s: float = DEFAULT_RECHECK_S) -> None:
        super().__init__(recheck_s)
        self._client = aioredis.from_url(url, socket_connect_timeout=10)
        self._id = uuid.uuid4().hex

    async def _close_sender(self) -> None:
        await self._client.aclose()

    @asynccontextmanager
    async def _subscription(self) -> AsyncIterator[Receive]:
        names = [redis_channel(c) for c in CHANNELS]
        pubsub = self._client.pubsub()
        try:
            await pubsub.subscribe(*names)
            await self._confirmed(pubsub, len(names))
            yield lambda: self._receive(pubsub)
        finally:
            await _quietly_close(pubsub)

    @staticmethod
    async def _confirmed(pubsub: Any, count: int) -> None:
        """Wait for Redis to confirm every SUBSCRIBE: only then are messages delivered."""
        seen = 0
        async with asyncio.timeout(START_WAIT_S):
            while seen < count:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == "subscribe":
                    seen += 1

    async def _receive(self, pubsub: Any) -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=PING_S)
            if message is None:
                await pubsub.ping()  # a dead connection shows itself here
                continue
            if message.get("type") != "message":
                continue
            self._deliver(_text(message.get("channel")), _text(message.get("data")))

    def _deliver(self, name: str, data: str) -> None:
        sender, _, key = data.partition("|")
        channel = name.removeprefix(_PREFIX)
        if sender == self._id or channel not in CHANNELS or not key:
            return  # ours (already woken), or not one of ours
        self.waiters.wake(channel, key)

    async def _send(self, channel: str, key: str) -> None:
        await self._client.publish(redis_channel(channel), f"{self._id}|{key}")


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value) if value is not None else ""


async def _quietly_close(pubsub: Any) -> None:
    try:
        await pubsub.aclose()
    except (RedisError, OSError):
        pass
