"""What the backend does for the engine, learned once from ``GET /healthz``'s ``features``.

``server-billing`` (docs/billing.md): the generate route itself takes the slot, reserves the
cost, adds the loading row and settles, keyed by the client's ``idempotencyKey`` - the
engine's one-call path (server_flow.py). Without it (a deployment without ``/healthz``, or
whose health lists no such feature) the engine runs the seed's flow (flow.py).

The probe runs off the submit path: it starts when the engine is built (or started, or first
used) and a submit only awaits its verdict, normally known long before. A verdict is kept
for the engine's backend.

A probe that got no verdict (server unreachable, a gateway's 5xx) says nothing about the
server, so it chooses no flow: it is asked again (``VERDICT_RETRY_DELAYS``, about half a
minute: a restarting server is back by then) and a submit waits for it; still no verdict,
the submit fails, retryable, before anything was reserved. It used to take the seed's flow
"which works against every server", but against a ``server-billing`` server that mixes
flows on a transient error: the client reserves and acquires the slot itself while the
server binds them to its job, so every lost answer has to be resolved by guessing
(resolve.py) instead of by key. And nothing is lost by waiting: the generate call goes to
the very server the probe could not reach.
"""

from __future__ import annotations

import asyncio
import logging

from gui.engine.api_client import ApiClient, BackendError
from gui.engine.failures import EngineFailure

log = logging.getLogger(__name__)
SERVER_BILLING = "server-billing"
CANCEL = "cancel"
# Between probes that got no verdict; after the last, this probe gives up (the next use
# starts another).
VERDICT_RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0)
UNREACHABLE = (
    "The server could not be reached to start this generation; nothing was charged. "
    "Try again in a moment."
)
# Strong references: a probe outlives an engine dropped without close() (the loop keeps
# only weak ones).
_PROBES: set[asyncio.Task[frozenset[str] | None]] = set()


class BackendFeatures:
    """The features of ``api``'s backend; ``forced`` (an engine setting) skips the probe:
    False always runs the seed's flow, True always the one-call path."""

    def __init__(self, api: ApiClient, forced: bool | None = None) -> None:
        self.api = api
        self.forced = forced
        # Per backend: an engine talks to one, but a verdict must never outlive its URL.
        self._known: dict[str, frozenset[str]] = {}
        self._probe: asyncio.Task[frozenset[str] | None] | None = None

    @property
    def known(self) -> frozenset[str] | None:
        return self._known.get(self.api.base_url)

    def probe_soon(self) -> None:
        """Start the probe unless the verdict is known or a probe runs; never waits."""
        if self.forced is not None or self.known is not None:
            return
        if self._probe is not None and not self._probe.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # built outside the event loop: the first use probes
        self._probe = loop.create_task(self._ask(), name="backend features")
        _PROBES.add(self._probe)
        self._probe.add_done_callback(_PROBES.discard)

    async def _ask(self) -> frozenset[str] | None:
        base = self.api.base_url
        for delay in (*VERDICT_RETRY_DELAYS, None):
            try:
                features = await self.api.features()
            except BackendError as exc:
                if delay is None:
                    log.info("backend features still unknown (%s)", exc.message)
                    return None
                await asyncio.sleep(delay)
                continue
            except Exception:
                log.exception("probing the backend's features failed")
                return None
            self._known[base] = features
            return features
        raise AssertionError("unreachable")

    async def server_billing(self) -> bool:
        """Whether to take the one-call path; waits for the probe (started if need be).
        Raises EngineFailure (retryable) when the server gave no verdict: see above."""
        if self.forced is not None:
            return self.forced
        if self.known is None:
            self.probe_soon()
            if self._probe is not None:
                # Shielded: a cancelled generation must not cancel the probe others await.
                await asyncio.shield(self._probe)
        known = self.known
        if known is None:
            raise EngineFailure(UNREACHABLE, "unreachable", retryable=True)
        return SERVER_BILLING in known

    async def close(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)
