"""Helpers for the engine's integration tests: a real engine wired to a real backend,
optionally behind the fault proxy (bench/reliability/proxy.py) that records what reaches
the backend and loses answers on the wire."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
from PIL import Image
from sqlalchemy import select

from backend.convex_host.invariants import check_invariants
from backend.convex_host.tables import holds, users
from backend.runner import free_port
from backend.server import EmbeddedBackend
from bench.reliability.proxy import PASS, FaultAction, FaultProxy, RequestInfo
from catalog import Options
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
from tests.database_fixtures import BackendDatabases
from tests.integration.engine_kill_driver import KILL_ENV

Terminal = GenerationCompleted | GenerationFailed | GenerationCancelled
FAST_POLL = PollPolicy(initial_s=0.05, factor=1.5, max_s=0.2, deadline_s=30, long_poll_s=2.0)
GENERATE_PATH = "/api/mobile/generate-images"
CANCEL_PATH = "/api/generate-images/cancel"
ROOT = Path(__file__).resolve().parents[2]
KILL_DRIVER = "tests.integration.engine_kill_driver"

# The one-call tests' requests (one image each) and what a new user starts with.
SYNC_REQUEST = EngineRequest(prompt="a red fox", options=Options("img-imagen4-preview"))
QUEUED_REQUEST = EngineRequest(prompt="a lighthouse", options=Options("img-nano-banana"))
START_CREDITS = 200.0


def image_bytes(size: tuple[int, int] = (64, 48), fmt: str = "PNG", color: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


class StepLog:
    """A journal observer keeping every recorded step in order (the journal keeps only each
    step's latest phase)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def recorded(self, local_id: str, step: str, phase: str) -> None:
        self.seen.append((local_id, step, phase))

    def of(self, local_id: str) -> list[tuple[str, str]]:
        """``local_id``'s steps as (step, phase), data-only updates left out."""
        return [(s, p) for i, s, p in self.seen if i == local_id and s not in ("_data", "finish")]


@dataclass
class Harness:
    engine: GenerationEngine
    backend: EmbeddedBackend
    user_id: str
    gateway: ConvexGateway
    events: list[EngineEvent] = field(default_factory=list)
    steps: StepLog = field(default_factory=StepLog)

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
    server_billing: bool | None = None,
) -> AsyncIterator[Harness]:
    """``server_billing`` as the engine's setting: None asks the backend's /healthz."""
    client = httpx.AsyncClient(timeout=30)
    tokens = EmbeddedTokenProvider(backend.base_url, user_id, client=client)
    api = ApiClient(backend.base_url, tokens, client=client)
    gateway = ConvexGateway(backend.convex_url, tokens, client=client)
    steps = StepLog()
    journal = Journal(data_dir / "journal.sqlite3", observer=steps)
    engine = GenerationEngine(
        api,
        gateway,
        journal,
        poll_policy=poll,
        long_edge=long_edge,
        server_billing=server_billing,
    )
    harness = Harness(engine, backend, user_id, gateway, steps=steps)
    engine.events.subscribe(harness.events.append)
    try:
        yield harness
    finally:
        await engine.close()
        journal.close()
        await client.aclose()


class ViaProxy:
    """The backend as the engine sees it: every URL goes through the fault proxy."""

    def __init__(self, backend: EmbeddedBackend, proxy: FaultProxy) -> None:
        self.backend = backend
        self.proxy = proxy
        self.base_url = proxy.base_url
        self.convex_url = proxy.base_url + "/convex"

    @property
    def app(self) -> Any:
        return self.backend.app


@contextmanager
def proxied_backend(
    data_dir: Path, databases: BackendDatabases, **overrides: Any
) -> Iterator[tuple[EmbeddedBackend, FaultProxy]]:
    """A real backend (its public URLs are the proxy's) behind a fault proxy, keeping its
    state in the test's database (``databases``: the ``backend_database`` fixture)."""
    from tests.conftest import FAST_TIMINGS

    port = free_port()
    proxy = FaultProxy(port).start()
    settings = {**FAST_TIMINGS, "database_url": databases.url_for(data_dir), **overrides}
    backend = EmbeddedBackend(
        data_dir, port=port, public_base_url=proxy.base_url, **settings
    ).start()
    try:
        yield cast(EmbeddedBackend, ViaProxy(backend, proxy)), proxy
    finally:
        backend.stop()
        proxy.stop()


@dataclass
class Seen:
    method: str
    path: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def convex_function(self) -> str | None:
        if not self.path.startswith("/convex/api/"):
            return None
        return str(self.json().get("path"))


class Recorder:
    """A proxy rule recording every request; ``fault(info)`` picks the action (pass)."""

    def __init__(self, fault: Callable[[RequestInfo], FaultAction] | None = None) -> None:
        self.fault = fault or (lambda _info: PASS)
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    def __call__(self, info: RequestInfo) -> FaultAction:
        with self._lock:
            self.seen.append(Seen(info.method, info.path, info.body))
        return self.fault(info)

    def to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def mutations(self) -> list[str]:
        return [
            str(s.convex_function())
            for s in self.seen
            if s.path == "/convex/api/mutation" and s.convex_function()
        ]


def holds_of(backend: EmbeddedBackend, user_id: str) -> list[dict[str, Any]]:
    """The server's holds (docs/billing.md) of one user, oldest first."""
    with backend.app.state.convex_db.read() as conn:
        found = conn.execute(
            select(holds)
            .join(users, users.c["_id"] == holds.c.userId)
            .where(users.c.subject == user_id)
            .order_by(holds.c.createdAt)
        ).mappings()
        return [dict(r) for r in found]


async def run_until_killed(
    module: str, *args: str, kill_at: str | None, env: Mapping[str, str] | None = None
) -> None:
    """``python -m module args`` from the repository root, with ``env`` (and the journal's
    kill point ``kill_at``) on top of ours; it must end by SIGKILL."""
    extra = {**(env or {}), **({KILL_ENV: kill_at} if kill_at is not None else {})}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **extra},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    failure = (module, args, kill_at, proc.returncode, err.decode()[-2000:])
    assert proc.returncode == -signal.SIGKILL, failure
