"""The one wrapper for background coroutines.

A bare ``asyncio.create_task`` loses its exception until the task is garbage collected (and
then only prints a warning). Everything the engine runs in the background goes through
:func:`spawn`, so a failure is logged and published as a ``BackgroundError`` the GUI shows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from gui.engine.events import BackgroundError, EventBus

log = logging.getLogger(__name__)
T = TypeVar("T")

# Strong references: the event loop keeps only weak ones, so an unreferenced task could be
# collected mid-flight.
_RUNNING: set[asyncio.Task[Any]] = set()


def describe_exception(exc: BaseException) -> str:
    """A one-line sentence for an exception (its message, else its type)."""
    text = str(exc).strip()
    return text if text else f"{type(exc).__name__} was raised."


def spawn(coro: Coroutine[Any, Any, T], *, where: str, bus: EventBus) -> asyncio.Task[T]:
    """Run ``coro`` as a task; any exception but cancellation is logged and published."""
    task = asyncio.get_running_loop().create_task(coro, name=where)
    _RUNNING.add(task)

    def _done(t: asyncio.Task[T]) -> None:
        _RUNNING.discard(t)
        if t.cancelled():
            return
        exc = t.exception()
        if exc is None:
            return
        log.error("background task %s failed", where, exc_info=exc)
        try:
            bus.publish(BackgroundError(where=where, message=describe_exception(exc)))
        except Exception:  # a broken subscriber must not hide the original failure
            log.exception("publishing BackgroundError for %s failed", where)

    task.add_done_callback(_done)
    return task
