"""Running a database call from the event loop: inline on SQLite, in a worker thread on
PostgreSQL.

On PostgreSQL a call waits on the network and on other transactions' row locks, so it runs
in a worker thread and the loop answers other requests meanwhile. On SQLite (the embedded
default) the database is a file in this process: a transaction is a fraction of a
millisecond of CPU that holds the GIL for most of it anyway, and the hop to a worker thread
and back cost more than the call itself when many requests came at once (the load run's
start burst: 15-30 % of the backend's CPU, docs/benchmarks.md). There the call runs inline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

P = ParamSpec("P")
T = TypeVar("T")


class DatabaseCalls:
    """``await calls(fn, *args)``: ``fn(*args)`` where it costs least for ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.inline = engine.dialect.name == "sqlite"

    async def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self.inline:
            return fn(*args, **kwargs)
        return await run_in_threadpool(fn, *args, **kwargs)
