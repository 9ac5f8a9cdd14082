"""Issue 14 item 1, the engine's half: a failed first generation of a new session names
the session it made (the server's ``billing.sessionId`` in an error answer on the one-call
path, the engine's own session on the seed's flow), and a retry of it runs there."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.server import EmbeddedBackend
from catalog import Options
from gui.engine.events import GenerationFailed
from gui.engine.request import EngineRequest
from tests.integration.engine_support import engine_for


@pytest.mark.parametrize("billing", [None, False], ids=["one-call", "seed"])
@pytest.mark.parametrize("model", ["img-reve", "img-seedream-v4"], ids=["sync", "queued"])
async def test_a_retry_reuses_the_session_the_failure_made(
    backend: EmbeddedBackend, tmp_path: Path, billing: bool | None, model: str
) -> None:
    async with engine_for(backend, tmp_path, server_billing=billing) as h:
        first = h.engine.submit(
            EngineRequest(prompt="[fail] a broken kite", options=Options(model))
        )
        await h.engine.wait_idle()
        failed = h.terminal(first)
        assert isinstance(failed, GenerationFailed) and failed.session_id
        retry = h.engine.retry_request(first)
        assert retry.session_id == failed.session_id
        again = h.engine.retry(first)
        await h.engine.wait_idle()
        second = h.terminal(again)
        assert isinstance(second, GenerationFailed)
        assert second.session_id == failed.session_id
        assert h.invariants() == []
