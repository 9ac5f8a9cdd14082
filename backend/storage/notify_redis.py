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
import logging
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from backend.storage.notify import CHANNELS, DEFAULT_RECHECK_S, Notifier

log = logging.getLogger(__name__)

PING_S = 15.0
MAX_BACKOFF_S = 5.0
START_WAIT_S = 10.0
_PREFIX = "imagegen:wake:"


def redis_channel(channel: str) -> str:
    return _PREFIX + channel


class RedisNotifier(Notifier):
    cross_process = True

    def __init__(self, url: str, recheck_s: float = DEFAULT_RECHECK_S) -> None:
        super().__init__(recheck_s)
        self._client = aioredis.from_url(url, socket_connect_timeout=10)
        self._id = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._closed = False
        # How many times the subscription was (re-)established; tests watch it.
        self.connections = 0

    async def start(self) -> None:
        self.ensure_running()
        # The server waits for its subscription at start; a server that is down only
        # delays the start this long, and waiters recheck meanwhile.
        await self.listening(START_WAIT_S)

    def ensure_running(self) -> None:
        super().ensure_running()
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._listen_forever(), name="redis-notify-listener")

    async def listening(self, timeout_s: float) -> bool:
        """Wait until the subscription is up; False if it is not within ``timeout_s``."""
        if self._listening.is_set():
            return True
        try:
            async with asyncio.timeout(timeout_s):
                await self._listening.wait()
        except TimeoutError:
            log.warning("wake-ups: not subscribed on Redis yet; waiters recheck meanwhile")
            return False
        return True

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await super().close()
        await self._client.aclose()

    async def _listen_forever(self) -> None:
        backoff = 0.1
        names = [redis_channel(c) for c in CHANNELS]
        while not self._closed:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(*names)
                await self._confirmed(pubsub, len(names))
                self.connections += 1
                self._listening.set()
                backoff = 0.1
                # Whatever was announced while no one listened is unknown: recheck now.
                self.waiters.wake_all()
                await self._receive(pubsub)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("wake-ups: Redis subscription lost (%s); reconnecting", exc)
            finally:
                self._listening.clear()
                await _quietly_close(pubsub)
            self.waiters.wake_all()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

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
