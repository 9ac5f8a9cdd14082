"""Turns of the event loop a generate call waits through (docs/benchmarks.md, "Seventh
pass"), on the embedded default (SQLite, whose calls run inline).

When many requests come at once, each turn of the loop runs every request then ready, so
a call's latency is about its number of turns times the turn's length. A queued model's
call (hold, the job handed to the queue, the answer recorded) is answered within the
turn that started it; it took three more when its work ran in a task of its own.

The app is called in process (httpx's ASGI transport runs it in the test's own task), so
the loop's turns can be counted around one call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from backend.app import create_app
from backend.config import BackendConfig
from tests.integration.routes_support import GENERATE_PATH
from tests.unit.test_billing_answer_handover import LoopTurns

QUEUED = "img-flux-2-max"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    config = BackendConfig(
        data_dir=tmp_path, embedded=True, public_base_url="http://testserver", local_queue_s=30
    )
    app = create_app(config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            token = (await c.post("/api/dev/token", json={"userId": "turns"})).json()["token"]
            c.headers["Authorization"] = f"Bearer {token}"
            yield c


async def test_a_queued_generate_is_answered_in_the_turn_that_started_it(
    client: httpx.AsyncClient,
) -> None:
    body = {"prompt": "a lighthouse at dusk", "model": QUEUED}
    first = await client.post(GENERATE_PATH, json=body)  # the first call warms caches
    assert first.status_code == 200 and first.json()["queued"] is True, first.text
    with LoopTurns() as turns:
        answer = await client.post(GENERATE_PATH, json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["queued"] is True and answer.json()["billing"]["settled"] is False
    assert turns.count == 0
