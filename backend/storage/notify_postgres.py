"""Cross-process wake-ups over PostgreSQL's LISTEN/NOTIFY (psycopg 3, asyncio).

One listener connection per process LISTENs on every channel and fans each notification
out to the process's waiters; one sender connection sends ``pg_notify`` right after the
change's commit. PostgreSQL delivers a notification to every listening session,
including ours: those sent by our own sender are skipped (their waiters were woken
directly, without the round trip).

The listener pings every ``PING_S`` so a silently dead connection is noticed; when it
drops, every waiter is woken (it may have missed a notification) and the connection is
re-established with a growing backoff (at most ``MAX_BACKOFF_S``), waking them again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from backend.storage.notify import CHANNELS, DEFAULT_RECHECK_S
from backend.storage.notify_listener import PING_S, ListeningNotifier, Receive

APPLICATION_NAME = "imagegen-notify"
_PREFIX = "imagegen_"


def conninfo(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as a libpq connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_channel(channel: str) -> str:
    return _PREFIX + channel


class PostgresNotifier(ListeningNotifier):
    service = "PostgreSQL"
    lost_errors = (psycopg.Error, OSError)

    def __init__(self, url: str, recheck_s: float = DEFAULT_RECHECK_S) -> None:
        super().__init__(recheck_s)
        self._dsn = conninfo(url)
        self._sender: psycopg.AsyncConnection[object] | None = None
        self._sender_pid: int | None = None
        self._send_lock = asyncio.Lock()
        self.listener_pid: int | None = None

    async def _close_sender(self) -> None:
        async with self._send_lock:
            if self._sender is not None:
                await self._sender.close()
                self._sender = None

    async def _connect(self) -> psycopg.AsyncConnection[object]:
        conn: psycopg.AsyncConnection[object] = await psycopg.AsyncConnection.connect(
            self._dsn, autocommit=True, application_name=APPLICATION_NAME, connect_timeout=10
        )
        return conn

    @asynccontextmanager
    async def _subscription(self) -> AsyncIterator[Receive]:
        async with await self._connect() as conn:
            for channel in CHANNELS:
                listen = sql.SQL("LISTEN {}").format(sql.Identifier(pg_channel(channel)))
                await conn.execute(listen)
            self.listener_pid = conn.info.backend_pid
            yield lambda: self._receive(conn)

    async def _receive(self, conn: psycopg.AsyncConnection[object]) -> None:
        while True:
            async for note in conn.notifies(timeout=PING_S):
                if note.pid == self._sender_pid:
                    continue  # ours: its waiters were woken when it was sent
                channel = note.channel.removeprefix(_PREFIX)
                if channel in CHANNELS:
                    self.waiters.wake(channel, note.payload)
            await conn.execute("SELECT 1")  # a dead connection shows itself here

    async def _send(self, channel: str, key: str) -> None:
        async with self._send_lock:
            for attempt in (1, 2):
                if self._sender is None or self._sender.closed:
                    self._sender = await self._connect()
                    self._sender_pid = self._sender.info.backend_pid
                try:
                    await self._sender.execute(
                        "SELECT pg_notify(%s, %s)", (pg_channel(channel), key)
                    )
                    return
                except psycopg.OperationalError:
                    # A connection the server dropped: one fresh try, then give up.
                    await self._sender.close()
                    self._sender = None
                    if attempt == 2:
                        raise
