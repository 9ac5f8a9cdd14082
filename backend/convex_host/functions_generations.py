"""`generations:*` — concurrency slots: at most ``slotLimit`` active generations a user.

A slot is a ``generations`` row: ``active`` while its work runs, then ``completed`` or
``failed`` for good. Acquiring counts and inserts in the same write transaction, so two
callers racing for the last slot cannot both see room.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select

from backend.convex_host.context import Ctx, insert, mutation, query, to_doc, update
from backend.convex_host.errors import not_authorized, not_found
from backend.convex_host.ids import new_id, now_ms
from backend.convex_host.tables import generations, holds
from backend.convex_host.validators import v
from backend.storage.sql import first, rows, scalar

TERMINAL = ("completed", "failed")


# Built once: every generate call counts (see storage.sql on statements built per call).
_ACTIVE = (
    select(func.count())
    .select_from(generations)
    .where(generations.c.userId == bindparam("user_id"), generations.c.status == "active")
)


def active_count(ctx: Ctx, user_id: str | None) -> int:
    if user_id is None:
        return 0
    return int(scalar(ctx.conn, _ACTIVE, {"user_id": user_id}))


@mutation(
    "generations:acquireGenerationSlot",
    {"type": v.optional(v.string()), "prompt": v.optional(v.string())},
)
def acquire_generation_slot(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    user = ctx.user()
    limit = int(user["slotLimit"])
    active = active_count(ctx, user["_id"])
    if active >= limit:
        return {"ok": False, "reason": "limit_reached", "limit": limit, "active": active}
    now = now_ms()
    generation_id = new_id("generations")
    insert(
        ctx.conn,
        "generations",
        {
            "_id": generation_id,
            "_creationTime": now,
            "userId": user["_id"],
            "type": args.get("type", "image"),
            "prompt": args.get("prompt"),
            "status": "active",
            "createdAt": now,
        },
    )
    return {"ok": True, "generationId": generation_id}


@mutation(
    "generations:updateGenerationStatus",
    {
        "generationId": v.id("generations"),
        "status": v.union(v.literal("completed"), v.literal("failed")),
        "imageUrl": v.optional(v.string()),
    },
)
def update_generation_status(ctx: Ctx, args: dict[str, Any]) -> None:
    user = ctx.user()
    row = first(ctx.conn, select(generations).where(generations.c["_id"] == args["generationId"]))
    if row is None:
        raise not_found("generation")
    if row["userId"] != user["_id"]:
        raise not_authorized("generation")
    # Idempotent, and terminal states are final: a retried "failed" after "completed"
    # (or a second "completed") changes nothing.
    if row["status"] in TERMINAL:
        return None
    # A slot the server holds for a generation it settles itself stays active until then
    # (docs/billing.md): a client ending it early would run more jobs than the limit.
    held = first(
        ctx.conn,
        select(holds.c["_id"]).where(holds.c.slotId == row["_id"], holds.c.state != "settled"),
    )
    if held is not None:
        return None
    fields: dict[str, Any] = {"status": args["status"], "completedAt": now_ms()}
    if "imageUrl" in args:
        fields["imageUrl"] = args["imageUrl"]
    update(ctx.conn, "generations", row["_id"], fields)
    return None


@query("generations:getActiveGenerations", {})
def get_active_generations(ctx: Ctx, _args: dict[str, Any]) -> dict[str, Any]:
    """The caller's slots in use (for a UI showing "3 of 4 running")."""
    user = ctx.user()
    found = (
        rows(
            ctx.conn,
            select(generations)
            .where(generations.c.userId == user["_id"], generations.c.status == "active")
            .order_by(generations.c.createdAt),
        )
        if user["_id"]
        else []
    )
    return {
        "limit": int(user["slotLimit"]),
        "active": len(found),
        "generations": [to_doc(r) for r in found],
    }
