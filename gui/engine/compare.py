"""Sends one prompt and the same references to several models: one generation per model.

Each accepted model of a `ComparePlan` is submitted through `GenerationEngine.submit`, the
normal path: its own journaled run, its own billing hold, its own tile. The generations are
tied together client-side by a group id (`CompareGroups`).

A comparison in a new session must land in one session: the first generation creates it,
so the others are submitted once an event names it (were they sent at once, each would
create a session of its own).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from gui.engine.attachments import AttachmentSource
from gui.engine.compare_groups import CompareGroups
from gui.engine.compare_plan import ComparePlan
from gui.engine.engine import GenerationEngine
from gui.engine.events import (
    EngineEvent,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
)
from gui.engine.request import EngineRequest

SessionWaiter = Callable[[str], Coroutine[Any, Any, str | None]]
SESSION_WAIT_S = 120.0  # past this, the rest start without a session (each makes its own)


def new_group_id() -> str:
    return uuid.uuid4().hex


class CompareRunner:
    def __init__(self, engine: GenerationEngine, groups: CompareGroups) -> None:
        self.engine = engine
        self.groups = groups

    async def submit(
        self,
        group_id: str,
        plan: ComparePlan,
        prompt: str,
        attachments: Sequence[AttachmentSource],
        session_id: str | None,
    ) -> list[str]:
        """Start one generation per accepted model; returns their local ids in plan order.

        Submitted last to first: the grid shows the newest generation on top, so the plan's
        first model is shown first."""
        accepted = plan.accepted
        self.groups.start(group_id, prompt, len(accepted))
        local_ids: list[str] = []
        for position in reversed(range(len(accepted))):
            options = accepted[position].options
            assert options is not None  # accepted entries carry their options
            request = EngineRequest(
                prompt=prompt,
                options=options,
                attachments=tuple(attachments),
                session_id=session_id,
            )
            waiter = self._session_waiter(session_id)
            local_id = self.engine.submit(request)
            self.groups.add_member(group_id, local_id, options.model, position)
            local_ids.insert(0, local_id)
            if waiter is not None:
                session_id = await waiter(local_id)
        return local_ids

    def _session_waiter(self, session_id: str | None) -> SessionWaiter | None:
        """None when the session is known; else a coroutine function that waits until an
        event about the given generation names its session (None if it never does)."""
        if session_id is not None:
            return None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        watched: list[str] = []

        def on_event(event: EngineEvent) -> None:
            if future.done() or not watched or getattr(event, "local_id", None) != watched[0]:
                return
            if isinstance(event, GenerationProgress) and event.session_id:
                future.set_result(event.session_id)
            elif isinstance(event, GenerationFailed | GenerationCancelled | GenerationCompleted):
                future.set_result(event.session_id)

        unsubscribe = self.engine.events.subscribe(on_event)

        async def wait(local_id: str) -> str | None:
            watched.append(local_id)
            try:
                return await asyncio.wait_for(future, SESSION_WAIT_S)
            except TimeoutError:
                return None
            finally:
                unsubscribe()

        return wait
