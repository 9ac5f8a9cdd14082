"""Saved store URLs keep working when the embedded backend restarts on another port.

Two real app sessions (gui.app.open_engine) on one data dir; between them the first port is
taken by another socket, so the backend has to move. Images saved under the old port must
still load (ImageFetcher) and still be accepted as references (the engine's uploader).
"""

from __future__ import annotations

import asyncio
import io
import socket
from pathlib import Path

import pytest
from PIL import Image

import gui.app
from backend.server import EmbeddedBackend
from catalog import Options
from gui.app import open_engine
from gui.engine.config import ClientConfig
from gui.engine.events import EngineEvent, GenerationCompleted, GenerationFailed
from gui.engine.images import ImageFetcher, ImageFetchError
from gui.engine.request import EngineRequest
from tests.conftest import FAST_TIMINGS


async def _run(session: gui.app.EngineSession, request: EngineRequest) -> EngineEvent:
    events: list[EngineEvent] = []
    unsubscribe = session.engine.events.subscribe(events.append)
    local_id = session.engine.submit(request)
    await session.engine.wait_idle()
    unsubscribe()
    done = [
        e
        for e in events
        if isinstance(e, GenerationCompleted | GenerationFailed) and e.local_id == local_id
    ]
    assert done, "the generation did not finish"
    return done[0]


async def test_old_port_urls_load_and_work_as_references(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        gui.app,
        "start_embedded_backend",
        lambda data_dir, **kw: EmbeddedBackend(Path(data_dir), **FAST_TIMINGS).start(),
    )
    config = ClientConfig(data_dir=tmp_path / "client")
    first = await open_engine(config, resume=False)
    try:
        assert first.backend is not None
        old_port = first.backend.port
        result = await _run(
            first, EngineRequest(prompt="a kite", options=Options("img-imagen4-preview"))
        )
        assert isinstance(result, GenerationCompleted), result
        old_url = result.image_urls[0]
        assert old_url.startswith(f"http://127.0.0.1:{old_port}/files/")
    finally:
        await first.close()

    # Another program takes the port (bound, not listening: connections are refused).
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", old_port))
    second = await open_engine(config, resume=False)
    try:
        assert second.backend is not None and second.backend.port != old_port
        # Without the rewrite the old URL is dead...
        plain = ImageFetcher(tmp_path / "plain-cache")
        with pytest.raises(ImageFetchError):
            await plain.fetch(old_url)
        await plain.close()
        # ...with it, the app's fetcher loads the same file from the new port.
        assert second.images is not None
        data = await second.images.fetch(old_url)
        assert Image.open(io.BytesIO(data)).size == (1024, 1024)

        # "Use as reference" of the old image: accepted by the backend's store guard.
        edit = await _run(
            second,
            EngineRequest(
                prompt="the kite at night",
                options=Options("img-nano-banana-edit"),
                attachments=(old_url,),
            ),
        )
        assert isinstance(edit, GenerationCompleted), edit
        assert edit.image_urls[0].startswith(second.backend.base_url + "/files/")
    finally:
        await second.close()
        await asyncio.to_thread(blocker.close)
