"""`sessions:*` for the desktop library: rename and delete sessions, and read every
generation of the user a page at a time (the client's local search index and favourites).

Same rules as `functions_sessions`: validated arguments, and a session of another user is
refused with "Not authorized" before anything is read or written.
"""

from __future__ import annotations

from typing import Any

from backend.convex_host.context import Ctx, mutation, query, to_doc, update
from backend.convex_host.errors import ConvexFunctionError, not_authorized, not_found
from backend.convex_host.ids import now_ms
from backend.convex_host.validators import v

MAX_TITLE_LENGTH = 200
# A page stays far below Convex's 8 MiB return limit even with long prompts.
MAX_PAGE_ITEMS = 1000
DEFAULT_PAGE_ITEMS = 500


def _owned_session(ctx: Ctx, session_id: str) -> dict[str, Any]:
    row = ctx.conn.execute("SELECT * FROM sessions WHERE _id = ?", (session_id,)).fetchone()
    if row is None:
        raise not_found("session")
    if row["userId"] != ctx.user()["_id"]:
        raise not_authorized("session")
    return dict(row)


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
    running = ctx.conn.execute(
        "SELECT COUNT(*) FROM sessionGenerations WHERE sessionId = ? AND isLoading = 1",
        (session["_id"],),
    ).fetchone()[0]
    if running:
        raise ConvexFunctionError(
            "This session still has a generation running; delete it once it has finished."
        )
    ctx.conn.execute(
        "DELETE FROM favorites WHERE generationId IN "
        "(SELECT _id FROM sessionGenerations WHERE sessionId = ?)",
        (session["_id"],),
    )
    ctx.conn.execute("DELETE FROM sessionGenerations WHERE sessionId = ?", (session["_id"],))
    ctx.conn.execute("DELETE FROM sessions WHERE _id = ?", (session["_id"],))
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
    rows = ctx.conn.execute(
        "SELECT rowid AS position, * FROM sessionGenerations WHERE userId = ? AND rowid > ? "
        "ORDER BY rowid LIMIT ?",
        (user_id, after, size + 1),
    ).fetchall()
    rows, more = rows[:size], len(rows) > size
    marks: dict[str, list[str]] = {}
    ids = [row["_id"] for row in rows]
    if ids:
        holes = ", ".join("?" for _ in ids)
        for fav in ctx.conn.execute(
            f"SELECT generationId, imageUrl FROM favorites WHERE generationId IN ({holes})", ids
        ):
            marks.setdefault(fav["generationId"], []).append(fav["imageUrl"])
    page = []
    for row in rows:
        doc = to_doc(row, bools=("isLoading",), json_fields=("images",), drop=("position",))
        found = marks.get(row["_id"], [])
        doc["isFavorite"] = "" in found
        doc["favoriteImageUrls"] = [url for url in found if url]
        page.append(doc)
    cursor = str(rows[-1]["position"]) if rows else str(after)
    return {"page": page, "continueCursor": cursor, "isDone": not more}
