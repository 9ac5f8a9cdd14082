"""What the tests of the Convex functions share: two users, and calls straight into the
function registry on a real database, SQLite or PostgreSQL (no HTTP)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.auth.identity import Identity
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.registry import run_function
from backend.convex_host.tables import TABLES
from backend.storage.sql import first

ALICE = Identity("user_alice", {"iss": "https://issuer.test"})
BOB = Identity("user_bob", {"iss": "https://issuer.test"})


def mut(db: ConvexDatabase, path: str, args: dict[str, Any], who: Identity = ALICE) -> Any:
    return run_function(db, "mutation", path, args, who)


def qry(db: ConvexDatabase, path: str, args: dict[str, Any], who: Identity = ALICE) -> Any:
    return run_function(db, "query", path, args, who)


def count(db: ConvexDatabase, table: str) -> int:
    """How many rows ``table`` holds."""
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(TABLES[table])).scalar_one())


def only_row(db: ConvexDatabase, table: str) -> dict[str, Any]:
    """The first row of ``table`` (tests that made exactly one)."""
    with db.read() as conn:
        row = first(conn, select(TABLES[table]))
    assert row is not None, f"{table} is empty"
    return row
