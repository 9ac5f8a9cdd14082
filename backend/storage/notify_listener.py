"""What the two cross-process notifiers share: one long-lived subscription per process.

A subclass says how to open its subscription (`_subscription`: connect, subscribe, and
hand back the coroutine that receives until the connection dies) and how to send. This
class keeps it running: started with the server, re-established with a growing backoff
(at most ``MAX_BACKOFF_S``) when it drops, and every waiter woken at each drop and each
reconnect, since a notification may have been missed while no one listened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import ClassVar

from backend.storage.notify import DEFAULT_RECHECK_S, Notifier

log = logging.getLogger(__name__)

PING_S = 15.0  # a silent subscription is pinged this often, so a dead one is noticed
MAX_BACKOFF_S = 5.0
# How long start() waits for the first subscription before going on with rechecks alone.
START_WAIT_S = 10.0

Receive = Callable[[], Awaitable[None]]


class ListeningNotifier(Notifier):
    cross_process = True
    # For log lines ("PostgreSQL", "Redis") and which errors mean "the connection is lost".
    service: ClassVar[str]
    lost_errors: ClassVar[tuple[type[BaseException], ...]]

    def __init__(self, recheck_s: float = DEFAULT_RECHECK_S) -> None:
        super().__init__(recheck_s)
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._closed = False
        # How many times the subscription was (re-)established; tests watch it.
        self.connections = 0

    def _subscription(self) -> AbstractAsyncContextManager[Receive]:
        """Connect and subscribe to every channel; yields the receive loop."""
        raise NotImplementedError

    async def _close_sender(self) -> None:
        """Release what sending holds (called once, at close)."""

    async def start(self) -> None:
        self.ensure_running()
        # The server waits for its subscription at start; a server that is down only
        # delays the start this long, and waiters recheck meanwhile.
        await self.listening(START_WAIT_S)

    def ensure_running(self) -> None:
        super().ensure_running()
        if self._task is None and not self._closed:
            name = f"{self.service.lower()}-notify-listener"
            self._task = asyncio.create_task(self._listen_forever(), name=name)

    async def listening(self, timeout_s: float) -> bool:
        """Wait until the subscription is up; False if it is not within ``timeout_s``."""
        if self._listening.is_set():
            return True
        try:
            async with asyncio.timeout(timeout_s):
                await self._listening.wait()
        except TimeoutError:
            log.warning(
                "wake-ups: not listening on %s yet; waiters recheck meanwhile", self.service
            )
            return False
        return True

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await super().close()
        await self._close_sender()

    async def _listen_forever(self) -> None:
        backoff = 0.1
        while not self._closed:
            try:
                async with self._subscription() as receive:
                    self.connections += 1
                    self._listening.set()
                    backoff = 0.1
                    # Whatever was announced while no one listened is unknown: recheck now.
                    self.waiters.wake_all()
                    await receive()
            except asyncio.CancelledError:
                raise
            except self.lost_errors as exc:
                log.warning("wake-ups: %s subscription lost (%s); reconnecting", self.service, exc)
            finally:
                self._listening.clear()
            self.waiters.wake_all()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
