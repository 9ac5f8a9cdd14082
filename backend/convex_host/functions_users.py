"""`users:*` — the credit balance and its reservations.

A generation reserves its exact cost before it starts, captures it when it succeeds and
releases it when it fails, so ``reservedCredits`` is money promised to work in flight and
``available = credits + additionalCredits - reservedCredits`` is what a new one may take.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import func, select

from backend.convex_host.context import Ctx, mutation, query, update
from backend.convex_host.errors import ConvexFunctionError
from backend.convex_host.tables import holds
from backend.convex_host.validators import v
from backend.storage.sql import first, scalar, seq_of


def _total(user: dict[str, Any]) -> float:
    return float(user["credits"]) + float(user["additionalCredits"])


def _amount(args: dict[str, Any]) -> float:
    amount = float(args["amount"])
    if not math.isfinite(amount) or amount < 0:
        raise ConvexFunctionError(f"Invalid amount: {args['amount']} (must be 0 or more).")
    return amount


def _money(value: float) -> float:
    # Rounded so fractional costs never leave a 1e-17 "reservation" behind.
    return round(value, 6)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@query("users:getUserCredits", {})
def get_user_credits(ctx: Ctx, _args: dict[str, Any]) -> dict[str, float]:
    user = ctx.user()
    return {
        "totalCredits": _total(user),
        "credits": float(user["credits"]),
        "additionalCredits": float(user["additionalCredits"]),
    }


@query("users:getUserCreditsBreakdown", {})
def get_user_credits_breakdown(ctx: Ctx, _args: dict[str, Any]) -> dict[str, float]:
    user = ctx.user()
    total = _total(user)
    reserved = float(user["reservedCredits"])
    return {"total": total, "reserved": reserved, "available": max(0.0, total - reserved)}


@mutation("users:reserveCredits", {"amount": v.number()})
def reserve_credits(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    amount = _amount(args)
    user = ctx.user()
    available = _total(user) - float(user["reservedCredits"])
    if available < amount:
        return {
            "success": False,
            "message": (
                f"Not enough credits: this needs {_fmt(amount)} and "
                f"{_fmt(max(0.0, available))} are available."
            ),
        }
    update(
        ctx.conn,
        "users",
        user["_id"],
        {"reservedCredits": _money(user["reservedCredits"] + amount)},
    )
    return {"success": True}


def _bound(ctx: Ctx, user_id: str) -> float:
    """Reserved credits the server's unsettled holds have bound (docs/billing.md): no
    client capture or release may touch them."""
    total = scalar(
        ctx.conn,
        select(func.coalesce(func.sum(holds.c.amount), 0)).where(
            holds.c.userId == user_id, holds.c.state != "settled"
        ),
    )
    return float(total)


def _absorbed_by_server(ctx: Ctx, user_id: str, amount: float) -> bool:
    """A seed's-flow client capturing or releasing after the server settled its request:
    the oldest such settlement of the same amount takes the call, which changes nothing."""
    row = first(
        ctx.conn,
        select(holds.c["_id"])
        .where(holds.c.userId == user_id, holds.c.clientAck == 1, holds.c.amount == _money(amount))
        .order_by(holds.c.settledAt, seq_of(holds))
        .limit(1),
    )
    if row is None:
        return False
    update(ctx.conn, "holds", row["_id"], {"clientAck": 0})
    return True


def _client_amount(ctx: Ctx, user: dict[str, Any], args: dict[str, Any]) -> float | None:
    """How much of a client's capture/release may apply: None when the server already
    settled it, else at most what is reserved and not bound by a server hold."""
    amount = _amount(args)
    if user["_id"] is None or _absorbed_by_server(ctx, user["_id"], amount):
        return None
    free = float(user["reservedCredits"]) - _bound(ctx, user["_id"])
    return _money(min(amount, max(0.0, free)))


@mutation("users:captureReservedCredits", {"amount": v.number()})
def capture_reserved_credits(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    """Spend a reservation: take it from the monthly credits first, then the additional
    ones (never below zero), and drop it from the reserved total. Never more than is
    reserved, and never what a server hold has bound."""
    user = ctx.user()
    amount = _client_amount(ctx, user, args)
    if amount is None:
        return {"success": True, "captured": 0, "settledByServer": True}
    from_credits = min(amount, max(0.0, float(user["credits"])))
    from_additional = min(amount - from_credits, max(0.0, float(user["additionalCredits"])))
    update(
        ctx.conn,
        "users",
        user["_id"],
        {
            "credits": _money(user["credits"] - from_credits),
            "additionalCredits": _money(user["additionalCredits"] - from_additional),
            "reservedCredits": _money(max(0.0, user["reservedCredits"] - amount)),
        },
    )
    return {"success": True, "captured": _money(from_credits + from_additional)}


@mutation("users:releaseReservedCredits", {"amount": v.number()})
def release_reserved_credits(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    user = ctx.user()
    amount = _client_amount(ctx, user, args)
    if amount is None:
        return {"success": True, "released": 0, "settledByServer": True}
    update(
        ctx.conn,
        "users",
        user["_id"],
        {"reservedCredits": _money(max(0.0, user["reservedCredits"] - amount))},
    )
    return {"success": True, "released": amount}
