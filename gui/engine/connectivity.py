"""Whether the backend can be reached, told to the GUI as ``ConnectionChanged`` events.

The HTTP clients (ApiClient, ConvexGateway) report every call: a transport failure or a
gateway 502/503/504 means "cannot reach", any other answer means "reachable". The first
failure publishes ``ConnectionChanged(online=False)`` (the window shows its offline banner);
from then on a probe asks the servers again with backoff (1 s, x1.5, at most 10 s) until
they answer, and ``ConnectionChanged(online=True)`` is published by itself, without the user
doing anything. A call that succeeds meanwhile ends the outage at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import httpx

from gui.engine.events import ConnectionChanged, EventBus

log = logging.getLogger(__name__)
OFFLINE_MESSAGE = "Can't reach the server. Running generations continue when it is back."
# What a proxy or load balancer answers while the server behind it is down.
UNREACHABLE_STATUSES = frozenset({502, 503, 504})

Probe = Callable[[], Awaitable[bool]]


def server_answered(resp: httpx.Response) -> bool:
    """Whether the server itself answered: anything but a gateway error, and a gateway
    status that carries the server's own JSON error (our backend answers 502 with a
    ``code`` when a provider fails) is an answer too."""
    if resp.status_code not in UNREACHABLE_STATUSES:
        return True
    try:
        body = resp.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "code" in body


Sleep = Callable[[float], Awaitable[None]]


def http_probe(client: httpx.AsyncClient, urls: Sequence[str]) -> Probe:
    """A probe that is True when every URL answers with anything but a gateway error (a
    404 from a deployment without ``/healthz`` still proves the server is up)."""

    async def probe() -> bool:
        for url in urls:
            try:
                resp = await client.get(url, timeout=5.0)
            except httpx.HTTPError:
                return False
            if not server_answered(resp):
                return False
        return True

    return probe


class ConnectionMonitor:
    def __init__(
        self,
        bus: EventBus,
        probe: Probe,
        *,
        initial_s: float = 1.0,
        factor: float = 1.5,
        max_s: float = 10.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._bus = bus
        self._probe = probe
        self._initial_s, self._factor, self._max_s = initial_s, factor, max_s
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.online = True

    def report(self, reachable: bool, message: str = "") -> None:
        """What the last call to the backend found (called by the HTTP clients)."""
        if reachable:
            self._set_online()
        elif self.online and not self._closed:
            self.online = False
            log.warning("backend unreachable: %s", message)
            self._bus.publish(ConnectionChanged(False, OFFLINE_MESSAGE))
            self._task = asyncio.get_running_loop().create_task(
                self._probe_until_back(), name="connection probe"
            )

    def _set_online(self) -> None:
        if self.online:
            return
        self.online = True
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        self._bus.publish(ConnectionChanged(True))

    async def _probe_until_back(self) -> None:
        delay = self._initial_s
        while not self.online and not self._closed:
            await self._sleep(delay)
            try:
                back = await self._probe()
            except Exception:  # a probe must never end the loop: the banner would stay
                log.exception("connection probe failed")
                back = False
            if back:
                self._set_online()
                return
            delay = min(self._max_s, delay * self._factor)

    async def close(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
