"""Reading and editing what the user has: sessions, their generations, favorites.

A thin layer over the Convex gateway that gives the GUI typed records (sessions come into
being with their first generation, in the engine's flow or on the server). The credit
balance is not here: the engine owns it (gui/engine/credits.py), so it is fetched from one
place only.
"""

from __future__ import annotations

import asyncio

from gui.engine.convex_gateway import ConvexError, ConvexGateway
from gui.engine.convex_types import SessionGeneration, SessionSummary
from gui.engine.library_index import LibraryIndex
from gui.engine.session_trash import SessionTrash

GenerationRecord = SessionGeneration
__all__ = ["GenerationRecord", "Library", "SessionSummary"]
# One page of the library read (the host caps it at 1000).
PAGE_ITEMS = 1000


class Library:
    def __init__(self, gateway: ConvexGateway) -> None:
        self._gateway = gateway
        # Deleting a session waits out an undo window here (gui/engine/session_trash.py).
        self.trash = SessionTrash(self.delete_session)

    async def sessions(self) -> list[SessionSummary]:
        """The user's sessions, most recently updated first (not those waiting to be
        deleted: the user no longer sees them)."""
        sessions = await self._gateway.get_user_sessions()
        hidden = self.trash.pending
        listed = [s for s in sessions if s.id not in hidden]
        return sorted(listed, key=lambda s: s.updated_at, reverse=True)

    async def generations(self, session_id: str) -> list[GenerationRecord]:
        """A session's generations, newest first (as the web grid shows them)."""
        generations = await self._gateway.get_session_generations(session_id)
        return sorted(generations, key=lambda g: g.created_at, reverse=True)

    async def toggle_favorite(self, generation_id: str, image_url: str | None = None) -> bool:
        return await self._gateway.toggle_favorite(generation_id, image_url)

    async def rename_session(self, session_id: str, title: str) -> str:
        """Answers the title as stored (the host collapses whitespace)."""
        value = await self._gateway.mutation(
            "sessions:renameSession", {"sessionId": session_id, "title": title}
        )
        return value if isinstance(value, str) else title

    async def delete_session(self, session_id: str) -> None:
        """Delete at once; the window goes through `trash.delete_later` to allow undo."""
        await self._gateway.mutation("sessions:deleteSession", {"sessionId": session_id})

    async def index(self) -> LibraryIndex:
        """Every generation of every session, for search and favourites, read once."""
        sessions = await self.sessions()
        return LibraryIndex.build(sessions, await self.all_generations(sessions))

    async def all_generations(
        self, sessions: list[SessionSummary] | None = None
    ) -> list[SessionGeneration]:
        """Every generation of the user's, in pages of the host's paged read; on a
        deployment without it, one query per session (``sessions``, read if not given), a
        few at a time."""
        try:
            return await self._all_generations()
        except ConvexError as exc:
            if "Could not find public function" not in str(exc):
                raise
        if sessions is None:
            sessions = await self.sessions()
        limit = asyncio.Semaphore(8)

        async def one(session_id: str) -> list[SessionGeneration]:
            async with limit:
                return await self._gateway.get_session_generations(session_id)

        lists = await asyncio.gather(*(one(s.id) for s in sessions))
        return [g for chunk in lists for g in chunk]

    async def _all_generations(self) -> list[SessionGeneration]:
        found: list[SessionGeneration] = []
        cursor = ""
        while True:
            answer = await self._gateway.query(
                "sessions:getLibraryPage", {"cursor": cursor, "numItems": PAGE_ITEMS}
            )
            if not isinstance(answer, dict) or not isinstance(answer.get("page"), list):
                raise ConvexError(f"Convex answered {answer!r} where a library page was expected.")
            found += [SessionGeneration.model_validate(doc) for doc in answer["page"]]
            cursor = str(answer.get("continueCursor", ""))
            if answer.get("isDone", True):
                return found
