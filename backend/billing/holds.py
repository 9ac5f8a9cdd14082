"""Holds: the server's own authorize / capture of a generation's cost (docs/billing.md).

Every function here is one write transaction of the Convex host's database (SQLite's
``BEGIN IMMEDIATE``; on PostgreSQL it first locks the row of the hold's user), so a hold
is opened together with its slot, its reservation and its loading row, and settled
together with the capture, the release, the slot's end and the row's images — or not at
all. They are synchronous (the service runs them in worker threads).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select

from backend.auth.identity import Identity
from backend.convex_host.context import token_identifier, update
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.ids import now_ms
from backend.convex_host.tables import billing_owners, holds, users
from backend.storage.sql import (
    first,
    lock_user,
    row_where,
    rows,
    scalar,
    update_returning,
    upsert,
)

OUTCOMES = ("completed", "failed", "cancelled")
# Money is rounded like the credit functions round it (functions_users._money).


def money(value: float) -> float:
    return round(value, 6)


@dataclass(frozen=True)
class HoldRequest:
    """What the generate route asks a hold for (the request is already validated)."""

    key: str
    kind: str  # "one-call" | "slot"
    body_hash: str
    amount: float
    num_images: int
    model_id: str
    model_label: str
    prompt: str
    aspect_ratio: str | None
    quality: str | None
    session_id: str | None = None
    session_title: str | None = None
    slot_id: str | None = None  # the seed's flow: the slot the client acquired


@dataclass(frozen=True)
class Hold:
    id: str
    user_id: str
    key: str
    kind: str
    slot_id: str
    amount: float
    num_images: int
    model_id: str
    session_id: str | None
    generation_id: str | None
    state: str
    job_key: str | None
    request_id: str | None
    response_status: int | None
    response: dict[str, Any] | None
    charged: float | None
    released: float | None
    outcome: str | None
    cancel_requested: bool
    created_at: float
    updated_at: float
    body_hash: str
    owner: str | None = None  # the server process working on it while "holding"

    @classmethod
    def from_row(cls, row: Any) -> Hold:
        return cls(
            id=row["_id"],
            user_id=row["userId"],
            key=row["key"],
            kind=row["kind"],
            slot_id=row["slotId"],
            amount=float(row["amount"]),
            num_images=int(row["numImages"]),
            model_id=row["model"],
            session_id=row["sessionId"],
            generation_id=row["generationId"],
            state=row["state"],
            job_key=row["jobKey"],
            request_id=row["requestId"],
            response_status=row["responseStatus"],
            response=json.loads(row["response"]) if row["response"] else None,
            charged=row["charged"],
            released=row["released"],
            outcome=row["outcome"],
            cancel_requested=bool(row["cancelRequested"]),
            created_at=float(row["createdAt"]),
            updated_at=float(row["updatedAt"]),
            body_hash=row["bodyHash"],
            owner=row["owner"],
        )

    @property
    def settled(self) -> bool:
        return self.state == "settled"

    def billing(self) -> dict[str, Any]:
        """The ``billing`` object of the answers."""
        out: dict[str, Any] = {
            "idempotencyKey": self.key,
            "slotId": self.slot_id,
            "amount": self.amount,
            "settled": self.settled,
        }
        if self.session_id:
            out["sessionId"] = self.session_id
        if self.generation_id:
            out["generationId"] = self.generation_id
        if self.settled:
            out.update(charged=self.charged, released=self.released, outcome=self.outcome)
        return out


def row_by_key(conn: Connection, user_id: str, key: str) -> dict[str, Any] | None:
    return row_where(conn, holds, userId=user_id, key=key)


def hold_row(conn: Connection, hold_id: str) -> dict[str, Any] | None:
    return row_where(conn, holds, _id=hold_id)


def update_hold(conn: Connection, hold_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """UPDATE a hold that exists (read under this transaction's lock); the row as it now is."""
    row = update_returning(conn, holds, "_id", hold_id, fields)
    assert row is not None
    return row


def locked_hold_row(conn: Connection, hold_id: str) -> dict[str, Any] | None:
    """The hold, read again once its user's row lock is held: whatever this transaction
    then decides about it cannot race another writer (PostgreSQL; SQLite's writer is
    alone already)."""
    row = hold_row(conn, hold_id)
    if row is None or conn.dialect.name != "postgresql":
        return row
    lock_user(conn, users, row["userId"])
    return hold_row(conn, hold_id)


def get_hold(db: ConvexDatabase, hold_id: str) -> Hold | None:
    with db.read() as conn:
        row = hold_row(conn, hold_id)
        return Hold.from_row(row) if row is not None else None


def find_by_job(db: ConvexDatabase, job_key: str) -> Hold | None:
    with db.read() as conn:
        row = row_where(conn, holds, jobKey=job_key)
        return Hold.from_row(row) if row is not None else None


def find_by_key(db: ConvexDatabase, identity: Identity, key: str) -> Hold | None:
    with db.read() as conn:
        row = first(
            conn,
            select(holds)
            .join(users, users.c["_id"] == holds.c.userId)
            .where(users.c.tokenIdentifier == token_identifier(identity), holds.c.key == key),
        )
        return Hold.from_row(row) if row is not None else None


def record_response(
    db: ConvexDatabase,
    hold_id: str,
    status: int,
    body: dict[str, Any],
    *,
    job_key: str | None = None,
    request_id: str | None = None,
) -> Hold:
    """Keep the first answer (replayed for a repeated key); a queued job becomes
    ``submitted`` and its loading row learns the request id."""
    with db.write() as conn:
        row = locked_hold_row(conn, hold_id)
        if row is None:
            raise KeyError(hold_id)
        fields: dict[str, Any] = {"updatedAt": now_ms()}
        if row["response"] is None:
            fields.update(responseStatus=status, response=json.dumps(body))
        if job_key is not None and row["state"] == "holding":
            fields.update(state="submitted", jobKey=job_key, requestId=request_id)
            if row["generationId"]:
                update(
                    conn,
                    "sessionGenerations",
                    row["generationId"],
                    {"externalRequestId": request_id},
                )
        return Hold.from_row(update_hold(conn, hold_id, fields))


def request_cancel(db: ConvexDatabase, hold_id: str) -> None:
    with db.write() as conn:
        locked_hold_row(conn, hold_id)
        update(conn, "holds", hold_id, {"cancelRequested": 1, "updatedAt": now_ms()})


def mark_checked(db: ConvexDatabase, hold_id: str) -> None:
    with db.write() as conn:
        update(conn, "holds", hold_id, {"checkedAt": now_ms()})


def unsettled(db: ConvexDatabase, limit: int = 200) -> list[Hold]:
    with db.read() as conn:
        found = rows(
            conn,
            select(holds)
            .where(holds.c.state != "settled")
            .order_by(func.coalesce(holds.c.checkedAt, 0), holds.c.createdAt)
            .limit(limit),
        )
        return [Hold.from_row(r) for r in found]


def seconds_since(ms: float) -> float:
    return max(0.0, time.time() - ms / 1000.0)


def beat(db: ConvexDatabase, owner: str) -> None:
    """This server process is alive (its holds are being worked on)."""
    with db.write() as conn:
        upsert(conn, billing_owners, {"id": owner, "heartbeatAt": now_ms()}, "id", ["heartbeatAt"])


def owner_alive(db: ConvexDatabase, owner: str | None, stale_s: float) -> bool:
    """Whether the server process that opened a hold has beaten within ``stale_s``."""
    if owner is None:
        return False
    with db.read() as conn:
        beat_at = scalar(
            conn, select(billing_owners.c.heartbeatAt).where(billing_owners.c.id == owner)
        )
    return beat_at is not None and seconds_since(float(beat_at)) < stale_s


def forget_owner(db: ConvexDatabase, owner: str) -> None:
    """A clean shutdown: the holds it left are orphans at once, not after ``stale_s``."""
    with db.write() as conn:
        conn.execute(delete(billing_owners).where(billing_owners.c.id == owner))


def subject_of(db: ConvexDatabase, user_id: str) -> str:
    with db.read() as conn:
        subject = scalar(conn, select(users.c.subject).where(users.c["_id"] == user_id))
    return str(subject) if subject is not None else ""
