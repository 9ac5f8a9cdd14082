"""What the tests of the Convex functions share: two users, and calls straight into the
function registry on a real SQLite file (no HTTP)."""

from __future__ import annotations

from typing import Any

from backend.auth.identity import Identity
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.registry import run_function

ALICE = Identity("user_alice", {"iss": "https://issuer.test"})
BOB = Identity("user_bob", {"iss": "https://issuer.test"})


def mut(db: ConvexDatabase, path: str, args: dict[str, Any], who: Identity = ALICE) -> Any:
    return run_function(db, "mutation", path, args, who)


def qry(db: ConvexDatabase, path: str, args: dict[str, Any], who: Identity = ALICE) -> Any:
    return run_function(db, "query", path, args, who)
