"""What a function handler receives, and the decorators that declare functions.

A handler is ``fn(ctx, args) -> value``: ``ctx.conn`` is the open transaction (read-only
for queries), ``ctx.user()`` the caller's ``users`` row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from backend.auth.identity import Identity
from backend.convex_host.errors import not_authenticated
from backend.convex_host.ids import new_id, now_ms
from backend.convex_host.validators import ObjectValidator, Validator, v

FunctionKind = Literal["query", "mutation", "action"]
Handler = Callable[["Ctx", dict[str, Any]], Any]


@dataclass(frozen=True)
class FunctionSpec:
    path: str  # "module:function"
    kind: FunctionKind
    args: ObjectValidator
    handler: Handler


def query(path: str, args: Mapping[str, Validator]) -> Callable[[Handler], FunctionSpec]:
    return lambda fn: FunctionSpec(path, "query", v.object(args), fn)


def mutation(path: str, args: Mapping[str, Validator]) -> Callable[[Handler], FunctionSpec]:
    return lambda fn: FunctionSpec(path, "mutation", v.object(args), fn)


def token_identifier(identity: Identity) -> str:
    """Convex's `identity.tokenIdentifier`: issuer and subject, joined by '|'."""
    issuer = str(identity.claims.get("iss") or "")
    return f"{issuer}|{identity.user_id}"


@dataclass
class Ctx:
    conn: sqlite3.Connection
    identity: Identity | None
    writable: bool
    starting_credits: float
    slot_limit: int

    def user(self) -> dict[str, Any]:
        """The caller's user row, created on a mutation's first call.

        A query cannot write, so for a caller never seen before it answers with the row the
        first mutation will create (``_id`` None): same credits, same limit, no documents.
        """
        if self.identity is None:
            raise not_authenticated()
        token = token_identifier(self.identity)
        row = self.conn.execute(
            "SELECT * FROM users WHERE tokenIdentifier = ?", (token,)
        ).fetchone()
        if row is not None:
            return dict(row)
        user: dict[str, Any] = {
            "_id": None,
            "_creationTime": now_ms(),
            "tokenIdentifier": token,
            "subject": self.identity.user_id,
            "credits": self.starting_credits,
            "additionalCredits": 0.0,
            "reservedCredits": 0.0,
            "slotLimit": self.slot_limit,
        }
        if not self.writable:
            return user
        user["_id"] = new_id("users")
        insert(self.conn, "users", user)
        return user


def insert(conn: sqlite3.Connection, table: str, doc: Mapping[str, Any]) -> None:
    cols = ", ".join(doc)
    marks = ", ".join("?" for _ in doc)
    conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(doc.values()))


def update(conn: sqlite3.Connection, table: str, doc_id: str, fields: Mapping[str, Any]) -> None:
    if not fields:
        return
    sets = ", ".join(f"{k} = ?" for k in fields)
    conn.execute(f"UPDATE {table} SET {sets} WHERE _id = ?", (*fields.values(), doc_id))


def to_doc(
    row: sqlite3.Row | Mapping[str, Any],
    *,
    bools: Iterable[str] = (),
    json_fields: Iterable[str] = (),
    drop: Iterable[str] = (),
) -> dict[str, Any]:
    """A row as a Convex document: booleans restored, JSON decoded, and unset (NULL)
    fields left out, since Convex documents have no `undefined` fields."""
    doc = dict(row)
    for key in bools:
        if doc.get(key) is not None:
            doc[key] = bool(doc[key])
    for key in json_fields:
        if isinstance(doc.get(key), str):
            doc[key] = json.loads(doc[key])
    for key in drop:
        doc.pop(key, None)
    return {k: val for k, val in doc.items() if val is not None}
