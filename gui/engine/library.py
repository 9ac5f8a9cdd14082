"""Reading and editing what the user has: sessions, their generations, favorites.

A thin layer over the Convex gateway that gives the GUI typed records (sessions come into
being with their first generation, in the engine's flow or on the server). The credit
balance is not here: the engine owns it (gui/engine/credits.py), so it is fetched from one
place only.
"""

from __future__ import annotations

from gui.engine.convex_gateway import ConvexGateway
from gui.engine.convex_types import SessionGeneration, SessionSummary

GenerationRecord = SessionGeneration
__all__ = ["GenerationRecord", "Library", "SessionSummary"]


class Library:
    def __init__(self, gateway: ConvexGateway) -> None:
        self._gateway = gateway

    async def sessions(self) -> list[SessionSummary]:
        """The user's sessions, most recently updated first."""
        sessions = await self._gateway.get_user_sessions()
        return sorted(sessions, key=lambda s: s.updated_at, reverse=True)

    async def generations(self, session_id: str) -> list[GenerationRecord]:
        """A session's generations, newest first (as the web grid shows them)."""
        generations = await self._gateway.get_session_generations(session_id)
        return sorted(generations, key=lambda g: g.created_at, reverse=True)

    async def toggle_favorite(self, generation_id: str, image_url: str | None = None) -> bool:
        return await self._gateway.toggle_favorite(generation_id, image_url)
