"""Settling a hold, once: capture what was delivered, release the rest, end slot and row.

One write transaction guarded by the hold's state (read under the user's row lock on
PostgreSQL, inside SQLite's ``BEGIN IMMEDIATE``), so however many routes, sweepers or
server processes try, exactly one settles it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam

from backend.billing.holds import OUTCOMES, Hold, locked_hold_row, money, update_hold
from backend.convex_host import functions_sessions
from backend.convex_host.context import update
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.ids import now_ms
from backend.convex_host.tables import generations, session_generations, users
from backend.storage.sql import changed_rows, row_where
from backend.stored_image import StoredImage, stored_images

# Every settlement ends its slot: built once (see storage.sql).
_END_ACTIVE_SLOT = generations.update().where(
    generations.c["_id"] == bindparam("slot_id"), generations.c.status == "active"
)


def settle(
    db: ConvexDatabase,
    hold_id: str,
    *,
    outcome: str,
    urls: Sequence[StoredImage | str] | None = None,
    error: str | None = None,
    only_if_holding: bool = False,
    answer: tuple[int, dict[str, Any]] | None = None,
) -> tuple[Hold, bool]:
    """Capture the cost of the images delivered, release the rest, end the slot and the
    loading row — once. Returns ``(hold, True)`` when this call settled it. ``urls`` are
    the delivered images; their sizes and types go into the row's ``images``.

    ``answer``: the call's answer, kept for a repeat of its key (unless one is kept
    already) in the same transaction — a server stopped right after settling must not
    leave a settled hold with no answer, which a repeated key would wait for in vain.

    ``only_if_holding``: settle only a hold no call has answered yet (an orphan's
    release), decided under the lock — a call that answered meanwhile wins."""
    assert outcome in OUTCOMES
    images = stored_images(urls or [])
    with db.write() as conn:
        row = locked_hold_row(conn, hold_id)
        if row is None:
            raise KeyError(hold_id)
        if only_if_holding and (row["state"] != "holding" or row["response"] is not None):
            return Hold.from_row(row), False
        kept = _answer_fields(row, answer)
        if row["state"] == "settled":
            if kept:
                return Hold.from_row(update_hold(conn, hold_id, kept)), False
            return Hold.from_row(row), False
        amount, wanted = float(row["amount"]), max(1, int(row["numImages"]))
        delivered = min(len(images), wanted) if outcome == "completed" else 0
        charged = money(min(amount, amount * delivered / wanted))
        user = row_where(conn, users, _id=row["userId"])
        assert user is not None
        from_credits = min(charged, max(0.0, float(user["credits"])))
        from_additional = min(charged - from_credits, max(0.0, float(user["additionalCredits"])))
        update(
            conn,
            "users",
            user["_id"],
            {
                "credits": money(user["credits"] - from_credits),
                "additionalCredits": money(user["additionalCredits"] - from_additional),
                "reservedCredits": money(max(0.0, user["reservedCredits"] - amount)),
            },
        )
        now = now_ms()
        slot_status = "completed" if delivered else "failed"
        slot_end: dict[str, Any] = {"status": slot_status, "completedAt": now}
        if delivered:
            slot_end["imageUrl"] = images[0].url
        changed_rows(conn, _END_ACTIVE_SLOT, {"slot_id": row["slotId"], **slot_end})
        if row["generationId"]:
            _finish_row(conn, row["generationId"], images[:wanted] if delivered else [], error, now)
        settled = update_hold(
            conn,
            hold_id,
            {
                "state": "settled",
                "charged": charged,
                "released": money(amount - charged),
                "outcome": outcome if delivered or outcome != "completed" else "failed",
                # The seed's flow: the client's own capture/release for it is still to come.
                "clientAck": 1 if row["kind"] == "slot" else 0,
                "settledAt": now,
                "updatedAt": now,
                **kept,
            },
        )
        return Hold.from_row(settled), True


def _answer_fields(
    row: dict[str, Any], answer: tuple[int, dict[str, Any]] | None
) -> dict[str, Any]:
    """The hold's fields that keep ``answer``, if it has none yet (the first one stands)."""
    if answer is None or row["response"] is not None:
        return {}
    status, body = answer
    return {"responseStatus": status, "response": json.dumps(body), "updatedAt": now_ms()}


def _finish_row(
    conn: Connection, generation_id: str, images: list[StoredImage], error: str | None, now: float
) -> None:
    row = row_where(conn, session_generations, _id=generation_id)
    if row is None:  # the user deleted the tile meanwhile
        return
    fields: dict[str, Any] = {"isLoading": 0, "completedAt": now}
    if images:
        # The shape sessions:updateGeneration's IMAGE validator takes: {url, width?,
        # height?, contentType?}.
        fields["images"] = json.dumps([i.to_json() for i in images])
    else:
        fields["error"] = error or "The generation failed."
    update(conn, "sessionGenerations", generation_id, fields)
    # Same preview rule as sessions:updateGeneration (a session deleted meanwhile: an
    # UPDATE of no row).
    functions_sessions.touch_session_conn(conn, row["sessionId"])
