"""What a function handler receives, and the decorators that declare functions.

A handler is ``fn(ctx, args) -> value``: ``ctx.conn`` is the open transaction (read-only
for queries; a SQLAlchemy connection, written to with Core over
:mod:`backend.convex_host.tables`), ``ctx.user()`` the caller's ``users`` row (locked for
the rest of a mutation on PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, select

from backend.auth.identity import Identity
from backend.convex_host.errors import not_authenticated
from backend.convex_host.ids import new_id, now_ms
from backend.convex_host.tables import TABLES, users
from backend.convex_host.validators import ObjectValidator, Validator, v
from backend.storage.sql import SEQ, first, insert_ignore

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
    conn: Connection
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
        find = select(users).where(users.c.tokenIdentifier == token)
        if self.writable:
            # Every mutation starts here: the user's row lock orders all of them (PostgreSQL).
            find = find.with_for_update()
        row = first(self.conn, find)
        if row is not None:
            return row
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
        # Two first mutations of one new user at once (PostgreSQL): one inserts, the other
        # waits for it and then locks the row it made.
        insert_ignore(self.conn, users, user)
        row = first(self.conn, find)
        assert row is not None
        return row


def insert(conn: Connection, table: str, doc: Mapping[str, Any]) -> None:
    conn.execute(TABLES[table].insert().values(dict(doc)))


def update(conn: Connection, table: str, doc_id: str, fields: Mapping[str, Any]) -> None:
    if not fields:
        return
    t = TABLES[table]
    conn.execute(t.update().where(t.c["_id"] == doc_id).values(dict(fields)))


def to_doc(
    row: Mapping[str, Any],
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
    for key in (*drop, SEQ):
        doc.pop(key, None)
    return {k: val for k, val in doc.items() if val is not None}
