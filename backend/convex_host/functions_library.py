"""`sessions:*` for the desktop library: rename and delete sessions, and read every
generation of the user a page at a time (the client's local search index and favourites).

Same rules as `functions_sessions`: validated arguments, and a session of another user is
refused with "Not authorized" before anything is read or written.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from backend.convex_host.context import Ctx, mutation, query, to_doc, update
from backend.convex_host.errors import ConvexFunctionError, not_authorized, not_found
from backend.convex_host.ids import now_ms
from backend.convex_host.tables import favorites, session_generations, sessions
from backend.convex_host.validators import v
from backend.storage.sql import first, rows, scalar, seq_of

MAX_TITLE_LENGTH = 200
# A page stays far below Convex's 8 MiB return limit even with long prompts.
MAX_PAGE_ITEMS = 1000
DEFAULT_PAGE_ITEMS = 500


def _owned_session(ctx: Ctx, session_id: str) -> dict[str, Any]:
    row = first(ctx.conn, select(sessions).where(sessions.c["_id"] == session_id))
    if row is None:
        raise not_found("session")
    if row["userId"] != ctx.user()["_id"]:
        raise not_authorized("session")
    return row


def _clean_title(title: str) -> str:
    cleaned = " ".join(title.split())  # no newlines or runs of spaces in a sidebar row
    if not cleaned:
        raise ConvexFunctionError("A session title cannot be empty.")
    if len(cleaned) > MAX_TITLE_LENGTH:
        raise ConvexFunctionError(
            f"A session title can be at most {MAX_TITLE_LENGTH} characters "
            f"(this one has {len(cleaned)})."
        )
    return cleaned


@mutation("sessions:renameSession", {"sessionId": v.id("sessions"), "title": v.string()})
def rename_session(ctx: Ctx, args: dict[str, Any]) -> str:
    """Answers the title as stored (whitespace collapsed)."""
    session = _owned_session(ctx, args["sessionId"])
    title = _clean_title(args["title"])
    update(ctx.conn, "sessions", session["_id"], {"title": title, "updatedAt": now_ms()})
    return title


@mutation("sessions:deleteSession", {"sessionId": v.id("sessions")})
def delete_session(ctx: Ctx, args: dict[str, Any]) -> None:
    """Delete a session, its generations and their favourite marks. A session with a
    generation still running is kept: its row is where the server settles that money."""
    session = _owned_session(ctx, args["sessionId"])
    g = session_generations
    running = scalar(
        ctx.conn,
        select(func.count())
        .select_from(g)
        .where(g.c.sessionId == session["_id"], g.c.isLoading == 1),
    )
    if running:
        raise ConvexFunctionError(
            "This session still has a generation running; delete it once it has finished."
        )
    in_session = select(g.c["_id"]).where(g.c.sessionId == session["_id"])
    ctx.conn.execute(delete(favorites).where(favorites.c.generationId.in_(in_session)))
    ctx.conn.execute(delete(g).where(g.c.sessionId == session["_id"]))
    ctx.conn.execute(delete(sessions).where(sessions.c["_id"] == session["_id"]))
    return None


def _cursor_position(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or len(cursor) > 18:
        raise ConvexFunctionError("The cursor is not one this function gave; start again.")
    return int(cursor)


def _page_size(value: float | None) -> int:
    if value is None:
        return DEFAULT_PAGE_ITEMS
    if value != int(value) or not 1 <= value <= MAX_PAGE_ITEMS:
        raise ConvexFunctionError(
            f"numItems must be a whole number from 1 to {MAX_PAGE_ITEMS} (got {value!r})."
        )
    return int(value)


@query(
    "sessions:getLibraryPage",
    {"cursor": v.optional(v.string()), "numItems": v.optional(v.number())},
)
def get_library_page(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    """The caller's generations of every session, oldest first, in Convex's pagination
    shape: ``{page, continueCursor, isDone}``. Each document is shaped as
    `getSessionGenerations` shapes it (``isFavorite``, ``favoriteImageUrls``)."""
    user_id = ctx.user()["_id"]
    after = _cursor_position(args.get("cursor"))
    size = _page_size(args.get("numItems"))
    if user_id is None:  # a caller never seen before owns nothing yet
        return {"page": [], "continueCursor": "", "isDone": True}
    g, position = session_generations, seq_of(session_generations)
    found = rows(
        ctx.conn,
        select(position.label("position"), g)
        .where(g.c.userId == user_id, position > after)
        .order_by(position)
        .limit(size + 1),
    )
    found, more = found[:size], len(found) > size
    marks: dict[str, list[str]] = {}
    ids = [row["_id"] for row in found]
    if ids:
        for fav in rows(
            ctx.conn,
            select(favorites.c.generationId, favorites.c.imageUrl).where(
                favorites.c.generationId.in_(ids)
            ),
        ):
            marks.setdefault(fav["generationId"], []).append(fav["imageUrl"])
    page = []
    for row in found:
        doc = to_doc(row, bools=("isLoading",), json_fields=("images",), drop=("position",))
        urls = marks.get(row["_id"], [])
        doc["isFavorite"] = "" in urls
        doc["favoriteImageUrls"] = [url for url in urls if url]
        page.append(doc)
    cursor = str(found[-1]["position"]) if found else str(after)
    return {"page": page, "continueCursor": cursor, "isDone": not more}
