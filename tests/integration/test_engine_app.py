"""The composition root without Qt: open_engine in embedded mode, generate, close, reopen."""

from __future__ import annotations

from pathlib import Path

from catalog import Options
from gui.app import journal_path, open_engine
from gui.engine.config import ClientConfig
from gui.engine.events import EngineEvent, GenerationCompleted
from gui.engine.request import EngineRequest


async def test_open_engine_embedded_generates_and_reopens_on_the_same_data(
    tmp_path: Path,
) -> None:
    config = ClientConfig(data_dir=tmp_path)
    session = await open_engine(config)
    try:
        assert session.backend is not None and session.backend.running
        seen: list[EngineEvent] = []
        session.engine.events.subscribe(seen.append)
        local_id = session.engine.submit(
            EngineRequest(prompt="a pier", options=Options("img-reve"))
        )
        await session.engine.wait_idle()
        done = [e for e in seen if isinstance(e, GenerationCompleted)]
        assert [e.local_id for e in done] == [local_id]
        credits = await session.engine.credits.refresh()
        assert (credits.total, credits.reserved) == (197, 0)
        sessions = await session.library.sessions()
        assert [s.title for s in sessions] == ["a pier"]
    finally:
        await session.close()
    assert journal_path(config).exists()
    again = await open_engine(config)
    try:
        sessions = await again.library.sessions()
        assert len(sessions) == 1  # the embedded backend kept its data
        (record,) = await again.library.generations(sessions[0].id)
        assert record.prompt == "a pier" and len(record.image_urls) == 1
    finally:
        await again.close()
