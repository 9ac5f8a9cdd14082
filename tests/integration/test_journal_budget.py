"""Generating past the journal's budget: settled rows are compacted as they settle, so the
journal holds the active rows and the newest few settled ones, whatever the history; what
it dropped is never needed (a restart resumes nothing and the money adds up)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from backend.convex_host.invariants import check_invariants
from catalog import Options, cost
from gui.engine.api_client import ApiClient
from gui.engine.convex_gateway import ConvexGateway
from gui.engine.engine import GenerationEngine
from gui.engine.events import EngineEvent, GenerationCompleted
from gui.engine.journal import Journal
from gui.engine.request import EngineRequest
from gui.engine.tokens import EmbeddedTokenProvider
from tests.conftest import BackendFactory
from tests.integration.engine_support import FAST_POLL, START_CREDITS

BUDGET = 3
GENERATIONS = 8
MODEL = "img-imagen4-preview"  # a sync model: each generation settles quickly


def _rows_on_disk(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM generations").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.parametrize("server_billing", [True, False], ids=["one-call", "seeds-flow"])
async def test_the_journal_stays_within_its_budget(
    backend_factory: BackendFactory, tmp_path: Path, server_billing: bool
) -> None:
    backend = backend_factory(advertise_server_billing=server_billing)
    user = f"budget-{server_billing}"
    path = tmp_path / "journal.sqlite3"
    async with httpx.AsyncClient(timeout=30) as client:
        tokens = EmbeddedTokenProvider(backend.base_url, user, client=client)
        gateway = ConvexGateway(backend.convex_url, tokens, client=client)
        journal = Journal(path, keep_settled=BUDGET)
        engine = GenerationEngine(
            ApiClient(backend.base_url, tokens, client=client),
            gateway,
            journal,
            poll_policy=FAST_POLL,
        )
        events: list[EngineEvent] = []
        engine.events.subscribe(events.append)
        sizes: list[int] = []
        for n in range(GENERATIONS):
            engine.submit(EngineRequest(prompt=f"a lantern #{n}", options=Options(MODEL)))
            await engine.wait_idle()
            sizes.append(_rows_on_disk(path))
        done = [e for e in events if isinstance(e, GenerationCompleted)]
        assert len(done) == GENERATIONS
        # Never more than the budget on disk, though every generation was journaled.
        assert sizes == [min(n + 1, BUDGET) for n in range(GENERATIONS)]
        kept = journal.all()
        assert [r.request["prompt"] for r in kept] == [
            f"a lantern #{n}" for n in range(GENERATIONS - BUDGET, GENERATIONS)
        ]
        assert all(r.state == "completed" for r in kept)
        await engine.close()
        journal.close()

        # A restart on the compacted journal has nothing to resume or adopt.
        journal = Journal(path, keep_settled=BUDGET)
        engine = GenerationEngine(
            ApiClient(backend.base_url, tokens, client=client),
            gateway,
            journal,
            poll_policy=FAST_POLL,
        )
        assert await engine.start() == []
        await engine.close()
        journal.close()
        credits = await gateway.get_user_credits_breakdown()
    assert (START_CREDITS - credits.total, credits.reserved) == (GENERATIONS * cost(MODEL, 1), 0)
    assert check_invariants(backend.app.state.convex_db, user) == []
