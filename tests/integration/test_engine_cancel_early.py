"""Cancelling right after submit (before the generation's task has run at all)."""

from __future__ import annotations

from pathlib import Path

from backend.server import EmbeddedBackend
from catalog import Options
from gui.engine.events import GenerationCancelled
from gui.engine.request import EngineRequest
from tests.integration.engine_support import engine_for


async def test_cancel_before_the_task_starts_still_settles_once(
    backend: EmbeddedBackend, tmp_path: Path
) -> None:
    async with engine_for(backend, tmp_path) as h:
        before = await h.breakdown()
        local_id = h.engine.submit(EngineRequest(prompt="a gull", options=Options("img-reve")))
        await h.engine.cancel(local_id)  # no await in between: the task has not started
        await h.engine.wait_idle()
        ends = [e for e in h.events if isinstance(e, GenerationCancelled)]
        assert [e.local_id for e in ends] == [local_id]
        assert h.terminal(local_id) == ends[0]
        after = await h.breakdown()
        assert (after.total, after.reserved) == (before.total, 0)
        assert h.invariants() == []
        assert not h.engine.in_flight()
