"""Wake-ups for long polls: "this job / this hold changed", from the process that changed
it to every waiter, in this process or another.

A change is committed first, then published (``publish(channel, key)``); a waiter then
re-reads the state it waits on. A waiter *listens before it reads* (``listen``), so a
change published between its read and its wait is kept (its event stays set) and never
lost in that gap.

**The safety net**: every wait is bounded by ``recheck_s``. A notification can still be
lost (a dropped listener connection, a process killed between its commit and its
publish, Redis or PostgreSQL restarting); the waiter then sees the change at its next
recheck — late by at most one interval, never hung. When a listener connection drops,
every waiter of the process is woken at once (it may have missed something) and again
when the connection is back.

Which notifier (:func:`make_notifier`):

* SQLite (the embedded default): :class:`InProcessNotifier` — asyncio events, nothing
  installed, nothing connected. A SQLite file is one machine's; another process writing
  the same file is seen at the waiters' own polling intervals, exactly as before.
* PostgreSQL: LISTEN/NOTIFY (:mod:`backend.storage.notify_postgres`), one listener
  connection per process fanning out to its waiters.
* PostgreSQL with ``REDIS_URL``: Redis pub/sub (:mod:`backend.storage.notify_redis`),
  which the rate limiter already depends on; PostgreSQL's connections stay for queries.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

log = logging.getLogger(__name__)

# What changed. A key is the job's id (JOB) or the hold's id (HOLD).
JOB: Final = "job"
HOLD: Final = "hold"
CHANNELS: Final = (JOB, HOLD)
# The cross-process safety net's default (BackendConfig.wakeup_recheck_s).
DEFAULT_RECHECK_S = 1.0
# A publish that takes longer than this is given up (logged): waiters then recheck.
PUBLISH_TIMEOUT_S = 5.0


class Listener:
    """One waiter's subscription to a key: set by a publish, cleared by ``wait``."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def wake(self) -> None:
        """Set from any thread (publishes may come from worker threads)."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._event.set()
            return
        try:
            self._loop.call_soon_threadsafe(self._event.set)
        except RuntimeError:  # its loop is closed: nobody is left to wake
            pass

    async def wait(self, timeout_s: float) -> bool:
        """True if woken (now or since the last wait), False when ``timeout_s`` passed."""
        if not self._event.is_set():
            try:
                async with asyncio.timeout(max(0.0, timeout_s)):
                    await self._event.wait()
            except TimeoutError:
                return False
        self._event.clear()
        return True


class Waiters:
    """The listeners of one process, by (channel, key); safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str], set[Listener]] = {}

    def add(self, channel: str, key: str, listener: Listener) -> None:
        with self._lock:
            self._by_key.setdefault((channel, key), set()).add(listener)

    def remove(self, channel: str, key: str, listener: Listener) -> None:
        with self._lock:
            found = self._by_key.get((channel, key))
            if found is not None:
                found.discard(listener)
                if not found:
                    del self._by_key[(channel, key)]

    def wake(self, channel: str, key: str) -> int:
        with self._lock:
            found = list(self._by_key.get((channel, key), ()))
        for listener in found:
            listener.wake()
        return len(found)

    def wake_all(self) -> int:
        with self._lock:
            found = [listener for group in self._by_key.values() for listener in group]
        for listener in found:
            listener.wake()
        return len(found)

    def count(self, channel: str, key: str) -> int:
        with self._lock:
            return len(self._by_key.get((channel, key), ()))


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise ValueError(f"unknown wake-up channel {channel!r}; use one of {CHANNELS}")
    return channel


class Notifier:
    """In-process wake-ups; subclasses also send them to other processes (``_send``)."""

    # True when a change made by another process is announced here too.
    cross_process = False

    def __init__(self, recheck_s: float = DEFAULT_RECHECK_S) -> None:
        self.recheck_s = recheck_s
        self.waiters = Waiters()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sends: set[asyncio.Task[None]] = set()

    def recheck(self, local_poll_s: float) -> float:
        """How long a waiter may wait before it re-reads the state anyway.

        In-process, a change by another process is never announced, so a waiter keeps
        the polling interval it always had (``local_poll_s``); cross-process, the safety
        net ``recheck_s``."""
        return self.recheck_s if self.cross_process else local_poll_s

    async def start(self) -> None:
        """Connect and wait until listening (idempotent; the server calls it at start)."""
        self.ensure_running()

    def ensure_running(self) -> None:
        """Start listening in the background if not yet (first use; never blocks)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()

    async def close(self) -> None:
        for task in list(self._sends):
            task.cancel()
        if self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)

    @asynccontextmanager
    async def listen(self, channel: str, key: str) -> AsyncIterator[Listener]:
        """Subscribe to ``key`` for the body: read the state inside, then ``wait``."""
        check_channel(channel)
        self.ensure_running()
        listener = Listener(asyncio.get_running_loop())
        self.waiters.add(channel, key, listener)
        try:
            yield listener
        finally:
            self.waiters.remove(channel, key, listener)

    async def wait(self, channel: str, key: str, timeout_s: float) -> bool:
        """Wait for the next change of ``key``; False when ``timeout_s`` passed first."""
        async with self.listen(channel, key) as listener:
            return await listener.wait(timeout_s)

    async def publish(self, channel: str, key: str) -> None:
        """Announce a committed change of ``key``. Never raises: a failed send is logged
        and the other processes' waiters see the change at their next recheck."""
        check_channel(channel)
        self.waiters.wake(channel, key)  # this process's waiters: at once, as before
        if not self.cross_process:
            return
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await self._send(channel, key)
        except Exception as exc:
            log.warning("wake-up %s %s not sent to other processes: %s", channel, key, exc)

    def publish_threadsafe(self, channel: str, key: str) -> None:
        """``publish`` from a worker thread (or sync code): local waiters are woken now,
        the send to other processes runs on the notifier's event loop."""
        check_channel(channel)
        self.waiters.wake(channel, key)
        loop = self._loop
        if not self.cross_process or loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._spawn_send, channel, key)
        except RuntimeError:  # the loop closed meanwhile (shutdown): recheck covers it
            pass

    def _spawn_send(self, channel: str, key: str) -> None:
        async def send() -> None:
            try:
                async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                    await self._send(channel, key)
            except Exception as exc:
                log.warning("wake-up %s %s not sent to other processes: %s", channel, key, exc)

        task = asyncio.get_running_loop().create_task(send())
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, channel: str, key: str) -> None:
        """Deliver to the other processes (nothing to do in-process)."""


class InProcessNotifier(Notifier):
    """The embedded default: waiters of this process only."""


def make_notifier(
    database_url: str | None, redis_url: str | None, recheck_s: float = DEFAULT_RECHECK_S
) -> Notifier:
    """The notifier for a server's configuration (see the module docstring for why)."""
    from backend.storage.engine import database_url as as_url
    from backend.storage.engine import is_postgres

    if database_url is None or not is_postgres(as_url(database_url)):
        return InProcessNotifier(recheck_s)
    if redis_url:
        from backend.storage.notify_redis import RedisNotifier

        return RedisNotifier(redis_url, recheck_s)
    from backend.storage.notify_postgres import PostgresNotifier

    return PostgresNotifier(database_url, recheck_s)
