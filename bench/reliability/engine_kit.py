"""Build a real GenerationEngine against any backend URL, and run generations to the end.

The harnesses and the reliability tests need the engine pointed at a proxy or at a
backend in another process, with a chosen dev user, so they compose it here from the
engine's own parts (ApiClient, ConvexGateway, Journal) exactly as the app does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

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
from gui.engine.tokens import EmbeddedTokenProvider, SignInError, TokenProvider

Terminal = GenerationCompleted | GenerationFailed | GenerationCancelled
HISTORY_KEPT = 1_000_000  # settled rows a harness journal keeps (runs are far shorter)
# The web's policy sped up 2-20x; the network-retry budget keeps the default's ~50 s of
# tolerated outage (8 retries of up to 10 s there, ~100 of up to 0.5 s here).
FAST_POLL = PollPolicy(
    initial_s=0.1,
    factor=1.5,
    max_s=0.5,
    deadline_s=300.0,
    long_poll_s=2.0,
    max_network_retries=100,
)


class StickyTokenProvider:
    """Dev tokens that are reused until the server refuses them (``force_refresh``).

    Behaves like a client whose clock is wrong: it never refreshes early, so a short
    server-side TTL makes the token expire in the middle of a generation.
    """

    def __init__(self, api_base_url: str, user_id: str, first_token: str | None = None) -> None:
        self._url = api_base_url.rstrip("/") + "/api/dev/token"
        self._user_id = user_id
        self._token: str | None = first_token
        self.fetches = 0
        self.forced = 0

    async def token(self, force_refresh: bool = False) -> str:
        if self._token is not None and not force_refresh:
            return self._token
        self.forced += int(force_refresh)
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                resp = await client.post(self._url, json={"userId": self._user_id})
        except httpx.HTTPError as exc:
            raise SignInError(f"The backend could not be reached ({exc}).") from exc
        if resp.status_code != 200:
            raise SignInError(f"The backend refused a token (HTTP {resp.status_code}).")
        self.fetches += 1
        self._token = str(resp.json()["token"])
        return self._token


@dataclass
class EngineKit:
    engine: GenerationEngine
    api: ApiClient
    gateway: ConvexGateway
    journal: Journal
    tokens: TokenProvider
    terminal: dict[str, Terminal] = field(default_factory=dict)
    events: list[EngineEvent] = field(default_factory=list)

    def _record(self, event: EngineEvent) -> None:
        self.events.append(event)
        if isinstance(event, GenerationCompleted | GenerationFailed | GenerationCancelled):
            self.terminal[event.local_id] = event

    async def close(self) -> None:
        await self.engine.close()
        await self.api.aclose()
        await self.gateway.aclose()
        self.journal.close()


def build_engine(
    api_url: str,
    convex_url: str,
    journal_path: Path,
    user_id: str,
    *,
    token_provider: TokenProvider | None = None,
    token_url: str | None = None,
    poll_policy: PollPolicy = FAST_POLL,
    server_billing: bool | None = None,
) -> EngineKit:
    """An engine for ``user_id``; tokens come from ``token_url`` (default ``api_url``).
    ``server_billing``: force the one-call path (True) or the seed's flow (False); None
    asks the backend (docs/billing.md, Capabilities)."""
    tokens = token_provider or EmbeddedTokenProvider(token_url or api_url, user_id)
    api = ApiClient(api_url, tokens, timeout=30.0)
    gateway = ConvexGateway(convex_url, tokens)
    # The driver and the audit read the whole run's history from the journal (which prompts
    # were submitted, which jobs the client knew), so this journal keeps every settled row.
    journal = Journal(journal_path, keep_settled=HISTORY_KEPT)
    engine = GenerationEngine(
        api, gateway, journal, poll_policy=poll_policy, server_billing=server_billing
    )
    kit = EngineKit(engine, api, gateway, journal, tokens)
    engine.events.subscribe(kit._record)
    return kit


async def run_all(
    kit: EngineKit, requests: Iterable[EngineRequest], timeout_s: float = 60.0
) -> dict[str, Terminal]:
    """Submit every request at once and wait for all of them to end."""
    ids = [kit.engine.submit(r) for r in requests]
    await asyncio.wait_for(kit.engine.wait_idle(), timeout_s)
    return {i: kit.terminal[i] for i in ids if i in kit.terminal}
