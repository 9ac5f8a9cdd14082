"""The invariant checker: a clean run passes, each kind of leak is reported."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from backend.auth.identity import Identity
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.invariants import assert_invariants, check_invariants
from backend.convex_host.registry import run_function
from tests.unit.convex_support import only_row

USER = Identity("inv-user", {"iss": "test"})


@pytest.fixture
def db(database_url: str) -> Iterator[ConvexDatabase]:
    with ConvexDatabase(database_url) as d:
        yield d


def mut(db: ConvexDatabase, path: str, args: dict[str, Any]) -> Any:
    return run_function(db, "mutation", path, args, USER)


def start_generation(db: ConvexDatabase, **tile: Any) -> tuple[str, str]:
    slot = mut(db, "generations:acquireGenerationSlot", {"type": "image", "prompt": "p"})
    mut(db, "users:reserveCredits", {"amount": 4})
    session = mut(db, "sessions:createSession", {"title": "t", "type": "image"})
    args = {"sessionId": session, "prompt": "p", "model": "m", "isLoading": True, **tile}
    tile_id = mut(
        db, "sessions:addGenerationToSession", {**args, "concurrencySlotId": slot["generationId"]}
    )
    return slot["generationId"], tile_id


def test_clean_run_has_no_violations(db: ConvexDatabase) -> None:
    slot, tile = start_generation(db)
    # While it runs, declaring it in flight makes the open slot and the reservation legal.
    assert check_invariants(db, "inv-user", in_flight_slot_ids=[slot]) == []
    mut(
        db,
        "sessions:updateGeneration",
        {"generationId": tile, "isLoading": False, "images": [{"url": "http://s/1.png"}]},
    )
    mut(db, "users:captureReservedCredits", {"amount": 4})
    mut(db, "generations:updateGenerationStatus", {"generationId": slot, "status": "completed"})
    assert check_invariants(db, "inv-user") == []
    assert_invariants(db, "inv-user")
    assert check_invariants(db, "nobody") == []


def test_leaked_reservation_is_caught(db: ConvexDatabase) -> None:
    slot, tile = start_generation(db)
    mut(db, "sessions:updateGeneration", {"generationId": tile, "isLoading": False, "error": "x"})
    mut(db, "generations:updateGenerationStatus", {"generationId": slot, "status": "failed"})
    # Deliberate bug: the 4 reserved credits are never released.
    problems = check_invariants(db, "inv-user")
    assert len(problems) == 1 and "4 credits are still reserved" in problems[0]
    with pytest.raises(AssertionError, match="still reserved"):
        assert_invariants(db, "inv-user")
    mut(db, "users:releaseReservedCredits", {"amount": 4})
    assert check_invariants(db, "inv-user") == []


def test_open_slot_and_orphan_loading_tile_are_caught(db: ConvexDatabase) -> None:
    slot, tile = start_generation(db)
    mut(db, "users:releaseReservedCredits", {"amount": 4})
    problems = check_invariants(db, "inv-user")
    assert any(f"slot {slot} is still active" in p for p in problems)
    assert any(f"generation {tile} is loading with no live job" in p for p in problems)
    # A provider request id means a resumable job: the tile is not orphaned, the slot is.
    mut(db, "sessions:updateGeneration", {"generationId": tile, "externalRequestId": "req-9"})
    problems = check_invariants(db, "inv-user")
    assert len(problems) == 1 and "is still active" in problems[0]
    # Closing the slot while the tile still spins is a leak of its own.
    mut(db, "generations:updateGenerationStatus", {"generationId": slot, "status": "failed"})
    problems = check_invariants(db, "inv-user")
    assert len(problems) == 1 and "although its slot" in problems[0]


def test_lookup_by_convex_user_id(db: ConvexDatabase) -> None:
    start_generation(db)
    user_id = only_row(db, "users")["_id"]
    assert len(check_invariants(db, user_id)) == 3
