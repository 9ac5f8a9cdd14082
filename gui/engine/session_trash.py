"""Deleting a session, undoably: nothing is deleted until the undo window has passed.

`delete_later` marks a session pending at once; the coroutine it returns waits for one of
three things: the delay runs out (delete), `undo` (keep), or `flush` (delete now: the app
is closing, so what the user deleted stays deleted). While it is pending, `pending` names
the session so the sidebar and the library hide it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

UNDO_WINDOW_S = 6.0


@dataclass
class _Waiting:
    decision: asyncio.Future[bool]  # True: delete now; False: undone
    finished: asyncio.Event = field(default_factory=asyncio.Event)


async def _answer(value: bool) -> bool:
    return value


class SessionTrash:
    def __init__(self, delete: Callable[[str], Awaitable[None]]) -> None:
        self._delete = delete
        self._waiting: dict[str, _Waiting] = {}

    @property
    def pending(self) -> frozenset[str]:
        return frozenset(self._waiting)

    def delete_later(
        self, session_id: str, delay_s: float = UNDO_WINDOW_S
    ) -> Coroutine[Any, Any, bool]:
        """Mark `session_id` pending now, and return the coroutine to run (spawn it) that
        deletes it once `delay_s` has passed unless undone; it answers whether it deleted.
        A session already pending is left to its first deletion (the coroutine answers
        False)."""
        if session_id in self._waiting:
            return _answer(False)
        waiting = _Waiting(asyncio.get_running_loop().create_future())
        self._waiting[session_id] = waiting
        return self._wait_then_delete(session_id, waiting, delay_s)

    async def _wait_then_delete(self, session_id: str, waiting: _Waiting, delay_s: float) -> bool:
        try:
            try:
                delete = await asyncio.wait_for(asyncio.shield(waiting.decision), delay_s)
            except TimeoutError:
                delete = True
            if delete:
                await self._delete(session_id)
            return delete
        finally:
            del self._waiting[session_id]
            waiting.finished.set()

    def undo(self, session_id: str) -> bool:
        """Keep a session whose deletion is still waiting; False when it is too late."""
        waiting = self._waiting.get(session_id)
        if waiting is None or waiting.decision.done():
            return False
        waiting.decision.set_result(False)
        return True

    async def flush(self) -> None:
        """Delete every waiting session now, and return once they are all done."""
        waits = list(self._waiting.values())
        for waiting in waits:
            if not waiting.decision.done():
                waiting.decision.set_result(True)
        for waiting in waits:
            await waiting.finished.wait()
