"""Reading and editing what the user has: sessions, their generations, credits, favorites.

A thin layer over the Convex gateway that gives the GUI plain records and publishes
``CreditsChanged`` / ``SessionsChanged`` so every view stays in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from gui.engine.convex_gateway import ConvexGateway
from gui.engine.convex_types import SessionGeneration, SessionSummary
from gui.engine.events import CreditsChanged, EventBus, SessionsChanged

GenerationRecord = SessionGeneration
__all__ = ["Credits", "GenerationRecord", "Library", "SessionSummary"]


@dataclass(frozen=True)
class Credits:
    total: int
    reserved: int
    available: int


class Library:
    def __init__(self, gateway: ConvexGateway, bus: EventBus) -> None:
        self._gateway = gateway
        self._bus = bus

    async def sessions(self) -> list[SessionSummary]:
        """The user's sessions, most recently updated first."""
        sessions = await self._gateway.get_user_sessions()
        return sorted(sessions, key=lambda s: s.updated_at, reverse=True)

    async def generations(self, session_id: str) -> list[GenerationRecord]:
        """A session's generations, newest first (as the web grid shows them)."""
        generations = await self._gateway.get_session_generations(session_id)
        return sorted(generations, key=lambda g: g.created_at, reverse=True)

    async def credits(self) -> Credits:
        breakdown = await self._gateway.get_user_credits_breakdown()
        credits = Credits(int(breakdown.total), int(breakdown.reserved), int(breakdown.available))
        self._bus.publish(CreditsChanged(credits.total, credits.reserved, credits.available))
        return credits

    async def create_session(self, title: str) -> str:
        session_id = await self._gateway.create_session(title.strip() or "New session", "image")
        self._bus.publish(SessionsChanged())
        return session_id

    async def toggle_favorite(self, generation_id: str, image_url: str | None = None) -> bool:
        return await self._gateway.toggle_favorite(generation_id, image_url)

    async def delete_generation(self, generation_id: str, image_url: str | None = None) -> None:
        """Delete one image of a generation (or the whole generation without ``image_url``)."""
        await self._gateway.delete_asset_media(generation_id, image_url)
        self._bus.publish(SessionsChanged())
