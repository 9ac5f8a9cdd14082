"""What a function handler receives, and the decorators that declare functions.

A handler is ``fn(ctx, args) -> value``: ``ctx.conn`` is the open transaction (read-only
for queries; a SQLAlchemy connection, written to with Core over
:mod:`backend.convex_host.tables`), ``ctx.user()`` the caller's ``users`` row (locked for
the rest of a mutation on PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection

from backend.auth.identity import Identity
from backend.convex_host.errors import not_authenticated
from backend.convex_host.ids import new_id, now_ms
from backend.convex_host.tables import TABLES, users
from backend.convex_host.validators import ObjectValidator, Validator, v
from backend.storage.sql import SEQ, insert_ignore, insert_row, row_where, update_where

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
    _user_id: str | None = field(default=None, init=False, repr=False)

    def user_id(self) -> str | None:
        """The caller's user id, read once per transaction (an owner check needs only
        this); None in a query for a caller never seen, who owns nothing yet."""
        if self._user_id is None:
            self.user()
        return self._user_id

    def user(self) -> dict[str, Any]:
        """The caller's user row, created on a mutation's first call.

        A query cannot write, so for a caller never seen before it answers with the row the
        first mutation will create (``_id`` None): same credits, same limit, no documents.
        """
        if self.identity is None:
            raise not_authenticated()
        token = token_identifier(self.identity)
        # Every mutation starts here: the user's row lock orders all of them (PostgreSQL).
        row = row_where(self.conn, users, for_update=self.writable, tokenIdentifier=token)
        if row is not None:
            self._user_id = row["_id"]
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
        row = row_where(self.conn, users, for_update=True, tokenIdentifier=token)
        assert row is not None
        self._user_id = row["_id"]
        return row


def insert(conn: Connection, table: str, doc: Mapping[str, Any]) -> None:
    # Values bound at execution into a statement built once (see storage.sql).
    insert_row(conn, TABLES[table], doc)


def update(conn: Connection, table: str, doc_id: str, fields: Mapping[str, Any]) -> None:
    update_where(conn, TABLES[table], "_id", doc_id, fields)


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
