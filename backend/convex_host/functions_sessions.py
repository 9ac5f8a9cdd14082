"""`sessions:*` — the sessions sidebar and the generations shown in each session.

A session generation is the grid tile: created loading (``isLoading: true``) before the
provider is called, then updated with the stored image URLs or an error. The session's
``preview`` is kept equal to the first image of its latest finished generation.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select

from backend.convex_host.context import Ctx, insert, mutation, query, to_doc, update
from backend.convex_host.errors import not_authorized, not_found
from backend.convex_host.ids import new_id, now_ms
from backend.convex_host.tables import TABLES, favorites, session_generations, sessions
from backend.convex_host.validators import v
from backend.storage.sql import first, row_where, rows, seq_of

IMAGE = v.object(
    {
        "url": v.string(),
        "width": v.optional(v.number()),
        "height": v.optional(v.number()),
        "contentType": v.optional(v.string()),
    }
)


def _owned(ctx: Ctx, table: str, doc_id: str, what: str) -> dict[str, Any]:
    row = row_where(ctx.conn, TABLES[table], _id=doc_id)
    if row is None:
        raise not_found(what)
    if row["userId"] != ctx.user_id():
        raise not_authorized(what)
    return row


def _touch_session(ctx: Ctx, session_id: str) -> None:
    touch_session_conn(ctx.conn, session_id)


def _shows_in_preview(doc: dict[str, Any]) -> bool:
    """Whether a row can be the session's preview (finished, no error, with images)."""
    return not doc["isLoading"] and doc.get("error") is None and doc["images"] != "[]"


_G = session_generations
# The preview's source, asked at every settlement: built once (see storage.sql).
_LATEST_FINISHED = (
    select(_G.c.images)
    .where(
        _G.c.sessionId == bindparam("session"),
        _G.c.isLoading == 0,
        _G.c.error.is_(None),
        _G.c.images != "[]",
    )
    .order_by(func.coalesce(_G.c.completedAt, _G.c.createdAt).desc(), seq_of(_G).desc())
    .limit(1)
)


def touch_session_conn(conn: Connection, session_id: str) -> None:
    """Bump ``updatedAt`` and recompute the preview after any change to its generations
    (also used by the server's billing settlement, which writes rows itself)."""
    latest = first(conn, _LATEST_FINISHED, {"session": session_id})
    preview = None
    if latest is not None:
        images = json.loads(latest["images"])
        preview = images[0]["url"] if images else None
    update(conn, "sessions", session_id, {"updatedAt": now_ms(), "preview": preview})


@mutation("sessions:createSession", {"title": v.string(), "type": v.optional(v.string())})
def create_session(ctx: Ctx, args: dict[str, Any]) -> str:
    user_id = ctx.user_id()
    now = now_ms()
    session_id = new_id("sessions")
    insert(
        ctx.conn,
        "sessions",
        {
            "_id": session_id,
            "_creationTime": now,
            "userId": user_id,
            "title": args["title"],
            "type": args.get("type", "image"),
            "createdAt": now,
            "updatedAt": now,
        },
    )
    return session_id


# No `providerEndpoint`: the desktop client polls through the backend and stores only our
# own URLs, so a generation must never ask the host to poll a provider itself.
@mutation(
    "sessions:addGenerationToSession",
    {
        "sessionId": v.id("sessions"),
        "prompt": v.string(),
        "type": v.optional(v.string()),
        "model": v.string(),
        "modelLabel": v.optional(v.string()),
        "aspectRatio": v.optional(v.string()),
        "numImages": v.optional(v.number()),
        "isLoading": v.optional(v.boolean()),
        "concurrencySlotId": v.optional(v.id("generations")),
        "quality": v.optional(v.string()),
        "externalRequestId": v.optional(v.string()),
        "images": v.optional(v.array(IMAGE)),
        "error": v.optional(v.string()),
    },
)
def add_generation_to_session(ctx: Ctx, args: dict[str, Any]) -> str:
    session = _owned(ctx, "sessions", args["sessionId"], "session")
    if "concurrencySlotId" in args:
        _owned(ctx, "generations", args["concurrencySlotId"], "generation slot")
    return _insert_generation(ctx, session["userId"], args, session_moves_up=True)


def add_loading_row(ctx: Ctx, args: dict[str, Any], *, new_session: bool) -> str:
    """The server's own loading row (billing's open_hold), in the transaction that opened
    its slot: the slot needs no check, nor does a session created in that transaction too
    (the caller's, and already the newest)."""
    user_id = ctx.user_id()
    if not new_session:
        _owned(ctx, "sessions", args["sessionId"], "session")
    return _insert_generation(ctx, user_id, args, session_moves_up=not new_session)


def _insert_generation(
    ctx: Ctx, user_id: str, args: dict[str, Any], *, session_moves_up: bool
) -> str:
    now = now_ms()
    generation_id = new_id("sessionGenerations")
    doc = {
        "_id": generation_id,
        "_creationTime": now,
        "userId": user_id,
        "type": args.get("type", "image"),
        "images": json.dumps(args.get("images", [])),
        "isLoading": int(args.get("isLoading", False)),
        "createdAt": now,
    }
    for key in (
        "sessionId",
        "prompt",
        "model",
        "modelLabel",
        "aspectRatio",
        "numImages",
        "concurrencySlotId",
        "quality",
        "externalRequestId",
        "error",
    ):
        if key in args:
            doc[key] = args[key]
    insert(ctx.conn, "sessionGenerations", doc)
    if _shows_in_preview(doc):
        _touch_session(ctx, args["sessionId"])
    elif session_moves_up:  # a loading tile cannot change the preview: only the session moves up
        update(ctx.conn, "sessions", args["sessionId"], {"updatedAt": now})
    return generation_id


@mutation(
    "sessions:updateGeneration",
    {
        "generationId": v.id("sessionGenerations"),
        "isLoading": v.optional(v.boolean()),
        "images": v.optional(v.array(IMAGE)),
        "completedAt": v.optional(v.number()),
        "error": v.optional(v.string()),
        "externalRequestId": v.optional(v.string()),
    },
)
def update_generation(ctx: Ctx, args: dict[str, Any]) -> None:
    row = _owned(ctx, "sessionGenerations", args["generationId"], "generation")
    fields: dict[str, Any] = {}
    if "isLoading" in args:
        fields["isLoading"] = int(args["isLoading"])
    if "images" in args:
        fields["images"] = json.dumps(args["images"])
    for key in ("completedAt", "error", "externalRequestId"):
        if key in args:
            fields[key] = args[key]
    update(ctx.conn, "sessionGenerations", row["_id"], fields)
    _touch_session(ctx, row["sessionId"])
    return None


@mutation(
    "sessions:toggleFavorite",
    {"generationId": v.id("sessionGenerations"), "imageUrl": v.optional(v.string())},
)
def toggle_favorite(ctx: Ctx, args: dict[str, Any]) -> bool:
    """Flip the favorite mark of one image (or of the whole generation when no URL is
    given); answers whether it is a favorite now."""
    row = _owned(ctx, "sessionGenerations", args["generationId"], "generation")
    image_url = args.get("imageUrl", "")
    key = (row["userId"], row["_id"], image_url)
    f = favorites
    existing = first(
        ctx.conn,
        select(f.c["_id"]).where(
            f.c.userId == key[0], f.c.generationId == key[1], f.c.imageUrl == key[2]
        ),
    )
    if existing is not None:
        ctx.conn.execute(delete(f).where(f.c["_id"] == existing["_id"]))
        return False
    now = now_ms()
    insert(
        ctx.conn,
        "favorites",
        {
            "_id": new_id("favorites"),
            "_creationTime": now,
            "userId": row["userId"],
            "generationId": row["_id"],
            "imageUrl": image_url,
            "createdAt": now,
        },
    )
    return True


@mutation(
    "sessions:deleteAssetMedia",
    {"generationId": v.id("sessionGenerations"), "imageUrl": v.optional(v.string())},
)
def delete_asset_media(ctx: Ctx, args: dict[str, Any]) -> None:
    """Remove one image from a generation, or the whole generation when no URL is given
    (or when its last image goes)."""
    row = _owned(ctx, "sessionGenerations", args["generationId"], "generation")
    images = json.loads(row["images"])
    remaining = [img for img in images if img.get("url") != args.get("imageUrl")]
    if "imageUrl" in args and remaining:
        update(ctx.conn, "sessionGenerations", row["_id"], {"images": json.dumps(remaining)})
        ctx.conn.execute(
            delete(favorites).where(
                favorites.c.generationId == row["_id"], favorites.c.imageUrl == args["imageUrl"]
            )
        )
    else:
        ctx.conn.execute(delete(favorites).where(favorites.c.generationId == row["_id"]))
        g = session_generations
        ctx.conn.execute(delete(g).where(g.c["_id"] == row["_id"]))
    _touch_session(ctx, row["sessionId"])
    return None


@query("sessions:getUserSessions", {})
def get_user_sessions(ctx: Ctx, _args: dict[str, Any]) -> list[dict[str, Any]]:
    user = ctx.user()
    found = rows(
        ctx.conn,
        select(sessions)
        .where(sessions.c.userId == user["_id"])
        .order_by(sessions.c.updatedAt.desc(), seq_of(sessions).desc()),
    )
    return [to_doc(r) for r in found]


@query("sessions:getSessionGenerations", {"sessionId": v.id("sessions")})
def get_session_generations(ctx: Ctx, args: dict[str, Any]) -> list[dict[str, Any]]:
    session = _owned(ctx, "sessions", args["sessionId"], "session")
    g, f = session_generations, favorites
    found = rows(
        ctx.conn,
        select(g).where(g.c.sessionId == session["_id"]).order_by(g.c.createdAt, seq_of(g)),
    )
    marked: dict[str, list[str]] = {}
    for fav in rows(
        ctx.conn,
        select(f.c.generationId, f.c.imageUrl)
        .join(g, g.c["_id"] == f.c.generationId)
        .where(g.c.sessionId == session["_id"]),
    ):
        marked.setdefault(fav["generationId"], []).append(fav["imageUrl"])
    docs = []
    for row in found:
        doc = to_doc(row, bools=("isLoading",), json_fields=("images",))
        marks = marked.get(row["_id"], [])
        doc["isFavorite"] = "" in marks
        doc["favoriteImageUrls"] = [url for url in marks if url]
        docs.append(doc)
    return docs
