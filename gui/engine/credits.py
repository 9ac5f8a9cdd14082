"""The credit balance has one owner: this.

The engine refreshes it when a generation reserves, is held by the server, or settles; the
window asks for it once on load (and after an outage). Nothing else reads the balance from
Convex, so one generation fetches it once per change, never twice from two places.

Changes that come while a refresh is on its way share one more refresh after it (that one
may have been read before them): three generations answered at once cost two reads, not
three, and the figure shown is always one read after the last change.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from gui.engine.convex_gateway import ConvexGateway, ConvexUnavailable
from gui.engine.events import CreditsChanged, EventBus
from gui.engine.tasks import spawn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credits:
    total: int
    reserved: int
    available: int


class CreditBalance:
    def __init__(self, gateway: ConvexGateway, bus: EventBus) -> None:
        self._gateway = gateway
        self._bus = bus
        self._refreshing: asyncio.Task[None] | None = None  # the background refresh
        self._closed = False
        self._again = False  # a change came after that refresh was sent

    async def refresh(self) -> Credits:
        """Read the balance and publish it (``CreditsChanged``) to every view."""
        breakdown = await self._gateway.get_user_credits_breakdown()
        credits = Credits(int(breakdown.total), int(breakdown.reserved), int(breakdown.available))
        self._bus.publish(CreditsChanged(credits.total, credits.reserved, credits.available))
        return credits

    def refresh_soon(self) -> None:
        """Refresh in the background (the engine's steps must not wait for the header);
        while one is on its way, once more after it."""
        if self._closed:
            return
        if self.refreshing():
            self._again = True
            return
        self._refreshing = spawn(
            self._refresh_until_current(), where="refresh credits", bus=self._bus
        )

    def refreshing(self) -> bool:
        """A background refresh is on its way."""
        return self._refreshing is not None and not self._refreshing.done()

    async def _refresh_until_current(self) -> None:
        # No await between the last check of `_again` and the return: a change asked for
        # after it finds the task done and starts a refresh of its own.
        while True:
            self._again = False
            await self._refresh_quietly()
            if not self._again or self._closed:
                return

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except ConvexUnavailable as exc:
            # Only the header's figure is stale; the next change refreshes it again, and a
            # generation hurt by the outage already says so on its tile.
            log.warning("credits not refreshed: %s", exc)

    async def close(self) -> None:
        """Cancel and await the refreshes in flight (one failing on a closed HTTP client
        would be reported as an error)."""
        self._closed = True
        task = self._refreshing
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})
