"""Helpers for the engine's integration tests: a real engine wired to a real backend."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from backend.convex_host.invariants import check_invariants
from backend.server import EmbeddedBackend
from gui.engine.api_client import ApiClient
from gui.engine.convex_gateway import ConvexGateway
from gui.engine.engine import GenerationEngine
from gui.engine.events import (
    EngineEvent,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
)
from gui.engine.journal import Journal
from gui.engine.polling import PollPolicy
from gui.engine.request import EngineRequest
from gui.engine.tokens import EmbeddedTokenProvider

Terminal = GenerationCompleted | GenerationFailed | GenerationCancelled
FAST_POLL = PollPolicy(initial_s=0.05, factor=1.5, max_s=0.2, deadline_s=30, long_poll_s=2.0)


def image_bytes(size: tuple[int, int] = (64, 48), fmt: str = "PNG", color: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


@dataclass
class Harness:
    engine: GenerationEngine
    backend: EmbeddedBackend
    user_id: str
    gateway: ConvexGateway
    events: list[EngineEvent] = field(default_factory=list)

    def terminal(self, local_id: str) -> Terminal | None:
        for event in self.events:
            if isinstance(event, Terminal) and event.local_id == local_id:
                return event
        return None

    async def run(self, request: EngineRequest) -> Terminal:
        local_id = self.engine.submit(request)
        await self.engine.wait_idle()
        result = self.terminal(local_id)
        assert result is not None, f"no terminal event for {local_id}"
        return result

    def invariants(self) -> list[str]:
        return check_invariants(self.backend.app.state.convex_db, self.user_id)

    async def breakdown(self) -> Any:
        return await self.gateway.get_user_credits_breakdown()

    def fetch(self, url: str) -> Image.Image:
        resp = httpx.get(url, timeout=10)
        resp.raise_for_status()
        img = Image.open(io.BytesIO(resp.content))
        img.load()
        return img


@asynccontextmanager
async def engine_for(
    backend: EmbeddedBackend,
    data_dir: Path,
    user_id: str = "local-user",
    poll: PollPolicy = FAST_POLL,
    long_edge: int = 2048,
) -> AsyncIterator[Harness]:
    client = httpx.AsyncClient(timeout=30)
    tokens = EmbeddedTokenProvider(backend.base_url, user_id, client=client)
    api = ApiClient(backend.base_url, tokens, client=client)
    gateway = ConvexGateway(backend.convex_url, tokens, client=client)
    journal = Journal(data_dir / "journal.sqlite3")
    engine = GenerationEngine(api, gateway, journal, poll_policy=poll, long_edge=long_edge)
    harness = Harness(engine, backend, user_id, gateway)
    engine.events.subscribe(harness.events.append)
    try:
        yield harness
    finally:
        await engine.close()
        journal.close()
        await client.aclose()
