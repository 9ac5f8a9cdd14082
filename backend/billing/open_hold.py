"""Opening a hold: slot, reservation and loading row in one transaction (docs/billing.md).

The one-call path acquires the slot and reserves the cost itself; the seed's flow names
the slot its client acquired and binds as much of the reserved balance as it costs. Any
refusal (402, 429, 403, 404, 409, 422) raises before the transaction commits, so a refused
request changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from backend.auth.identity import Identity
from backend.billing.holds import Hold, HoldRequest, money, row_by_key
from backend.convex_host import functions_sessions
from backend.convex_host.context import Ctx, insert, update
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.errors import ConvexFunctionError
from backend.convex_host.functions_generations import active_count
from backend.convex_host.ids import new_id, now_ms
from backend.convex_host.tables import generations, holds
from backend.errors import ApiError
from backend.storage.sql import first, insert_returning, scalar

_EPSILON = 1e-6


def _ctx(conn: Connection, db: ConvexDatabase, identity: Identity) -> Ctx:
    return Ctx(
        conn=conn,
        identity=identity,
        writable=True,
        starting_credits=db.starting_credits,
        slot_limit=db.slot_limit,
    )


def bound_amount(conn: Connection, user_id: str) -> float:
    """Reserved credits that unsettled holds have bound (no client call may touch them)."""
    total = scalar(
        conn,
        select(func.coalesce(func.sum(holds.c.amount), 0)).where(
            holds.c.userId == user_id, holds.c.state != "settled"
        ),
    )
    return float(total)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _insufficient(needed: float, available: float, hint: str = "") -> ApiError:
    return ApiError(
        402,
        "insufficient_credits",
        f"Not enough credits: this needs {_fmt(needed)} and "
        f"{_fmt(max(0.0, available))} are available.{hint}",
        extra={"needed": needed, "available": max(0.0, money(available))},
    )


def _check_legacy_slot(conn: Connection, user_id: str, slot_id: str) -> None:
    slot = first(conn, select(generations).where(generations.c["_id"] == slot_id))
    if slot is None:
        raise ApiError(404, "slot_not_found", "This concurrency slot does not exist.")
    if slot["userId"] != user_id:
        raise ApiError(403, "forbidden", "This concurrency slot belongs to another account.")
    if slot["status"] != "active":
        raise ApiError(
            409, "slot_not_active", "This concurrency slot has ended; acquire a new one."
        )


def _session_error(exc: ConvexFunctionError) -> ApiError:
    if exc.message.startswith("Not authorized"):
        return ApiError(403, "forbidden", "This session belongs to another account.")
    return ApiError(404, "session_not_found", "This session does not exist.")


def _add_loading_row(ctx: Ctx, req: HoldRequest, slot_id: str) -> tuple[str | None, str | None]:
    """The session (given or new) and its loading row, through the host's own functions."""
    session_id = req.session_id
    try:
        new_session = session_id is None and req.session_title is not None
        if new_session:
            session_id = functions_sessions.create_session.handler(
                ctx, {"title": req.session_title, "type": "image"}
            )
        if session_id is None:
            return None, None
        args: dict[str, Any] = {
            "sessionId": session_id,
            "prompt": req.prompt,
            "type": "image",
            "model": req.model_id,
            "modelLabel": req.model_label,
            "numImages": float(req.num_images),
            "isLoading": True,
            "concurrencySlotId": slot_id,
        }
        if req.aspect_ratio:
            args["aspectRatio"] = req.aspect_ratio
        if req.quality:
            args["quality"] = req.quality
        generation_id = functions_sessions.add_loading_row(ctx, args, new_session=new_session)
    except ConvexFunctionError as exc:
        raise _session_error(exc) from exc
    return session_id, generation_id


def open_hold(
    db: ConvexDatabase, identity: Identity, req: HoldRequest, owner: str | None = None
) -> tuple[Hold, bool]:
    """The hold for ``req.key``: ``(hold, True)`` when this call opened it, ``(hold, False)``
    when the key was seen before (the caller replays its first answer). Raises ApiError
    402 / 429 / 403 / 404 / 409 / 422 and then changes nothing."""
    with db.write() as conn:
        ctx = _ctx(conn, db, identity)
        user = ctx.user()
        user_id = user["_id"]
        existing = row_by_key(conn, user_id, req.key)
        if existing is not None:
            if existing["bodyHash"] != req.body_hash:
                raise ApiError(
                    422,
                    "idempotency_key_mismatch",
                    "This idempotency key was already used for a different request.",
                )
            return Hold.from_row(existing), False
        reserved = float(user["reservedCredits"])
        total = float(user["credits"]) + float(user["additionalCredits"])
        session_id = generation_id = None
        if req.kind == "slot":
            assert req.slot_id is not None
            _check_legacy_slot(conn, user_id, req.slot_id)
            free = reserved - bound_amount(conn, user_id)
            if free + _EPSILON < req.amount:
                raise _insufficient(
                    req.amount, free, " Reserve the cost (users:reserveCredits) first."
                )
            slot_id = req.slot_id
        else:
            if total - reserved + _EPSILON < req.amount:
                raise _insufficient(req.amount, total - reserved)
            limit, active = int(user["slotLimit"]), active_count(ctx, user_id)
            if active >= limit:
                raise ApiError(
                    429,
                    "too_many_generations",
                    f"You already have {active} generations running (the limit is {limit}). "
                    "Wait for one to finish.",
                    headers={"Retry-After": "5"},
                    extra={"limit": limit, "active": active},
                )
            now = now_ms()
            slot_id = new_id("generations")
            insert(
                conn,
                "generations",
                {
                    "_id": slot_id,
                    "_creationTime": now,
                    "userId": user_id,
                    "type": "image",
                    "prompt": req.prompt[:500],
                    "status": "active",
                    "createdAt": now,
                },
            )
            update(conn, "users", user_id, {"reservedCredits": money(reserved + req.amount)})
            session_id, generation_id = _add_loading_row(ctx, req, slot_id)
        now = now_ms()
        stored = insert_returning(
            conn,
            holds,
            {
                "_id": new_id("holds"),
                "userId": user_id,
                "key": req.key,
                "kind": req.kind,
                "bodyHash": req.body_hash,
                "slotId": slot_id,
                "amount": money(req.amount),
                "numImages": req.num_images,
                "model": req.model_id,
                "sessionId": session_id,
                "generationId": generation_id,
                "state": "holding",
                "owner": owner,
                "createdAt": now,
                "updatedAt": now,
            },
        )
        return Hold.from_row(stored), True
