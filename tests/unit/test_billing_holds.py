"""The hold and settlement transactions (docs/billing.md), run on a real database
(SQLite and PostgreSQL).

Money is checked against the Convex functions a client sees: the balance, the reserved
total, the slot's status and the loading row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from backend.auth.identity import Identity
from backend.billing.holds import HoldRequest
from backend.billing.open_hold import open_hold
from backend.billing.settlement import settle
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.tables import generations
from backend.errors import ApiError
from tests.unit.convex_support import ALICE, BOB, mut, qry


@pytest.fixture
def db(database_url: str) -> Iterator[ConvexDatabase]:
    with ConvexDatabase(database_url, starting_credits=100, slot_limit=2) as d:
        yield d


def request(key: str, amount: float = 8, num_images: int = 4, **kw: Any) -> HoldRequest:
    fields: dict[str, Any] = {
        "key": key,
        "kind": "one-call",
        "body_hash": "h-" + key,
        "amount": amount,
        "num_images": num_images,
        "model_id": "img-test",
        "model_label": "Test",
        "prompt": "a lighthouse",
        "aspect_ratio": "1:1",
        "quality": None,
    }
    fields.update(kw)
    return HoldRequest(**fields)


def breakdown(db: ConvexDatabase, who: Identity = ALICE) -> dict[str, float]:
    result: dict[str, float] = qry(db, "users:getUserCreditsBreakdown", {}, who)
    return result


def slot_status(db: ConvexDatabase, slot_id: str) -> str:
    with db.read() as conn:
        return str(
            conn.execute(
                select(generations.c.status).where(generations.c["_id"] == slot_id)
            ).scalar_one()
        )


def test_open_reserves_takes_a_slot_and_adds_the_loading_row(db: ConvexDatabase) -> None:
    hold, opened = open_hold(db, ALICE, request("key-00001", session_title="Lighthouse"))
    assert opened and hold.state == "holding" and hold.amount == 8
    assert breakdown(db) == {"total": 100, "reserved": 8, "available": 92}
    assert slot_status(db, hold.slot_id) == "active"
    assert hold.session_id and hold.generation_id
    rows = qry(db, "sessions:getSessionGenerations", {"sessionId": hold.session_id})
    assert [r["_id"] for r in rows] == [hold.generation_id] and rows[0]["isLoading"] is True


def test_partial_delivery_charges_only_the_images_delivered(db: ConvexDatabase) -> None:
    hold, _ = open_hold(db, ALICE, request("key-00002", session_title="Partial"))
    settled, changed = settle(db, hold.id, outcome="completed", urls=["u1", "u2"])
    assert changed and settled.charged == 4 and settled.released == 4
    assert breakdown(db) == {"total": 96, "reserved": 0, "available": 96}
    assert slot_status(db, hold.slot_id) == "completed"
    row = qry(db, "sessions:getSessionGenerations", {"sessionId": hold.session_id})[0]
    assert row["isLoading"] is False and [i["url"] for i in row["images"]] == ["u1", "u2"]


def test_settling_twice_changes_nothing(db: ConvexDatabase) -> None:
    hold, _ = open_hold(db, ALICE, request("key-00003"))
    settle(db, hold.id, outcome="completed", urls=["a", "b", "c", "d"])
    again, changed = settle(db, hold.id, outcome="failed", error="late failure")
    assert not changed and again.outcome == "completed" and again.charged == 8
    assert breakdown(db) == {"total": 92, "reserved": 0, "available": 92}


def test_the_answer_is_kept_by_the_settling_transaction_itself(db: ConvexDatabase) -> None:
    """A server stopped right after settling leaves the answer a repeated key replays: it
    is written with the settlement, not after it. The first answer kept stands."""
    hold, _ = open_hold(db, ALICE, request("key-00013"))
    body = {"images": [{"url": "a"}]}
    settled, changed = settle(db, hold.id, outcome="completed", urls=["a"], answer=(200, body))
    assert changed and (settled.response_status, settled.response) == (200, body)
    again, changed = settle(db, hold.id, outcome="failed", answer=(502, {"error": "late"}))
    assert not changed and (again.response_status, again.response) == (200, body)
    # A hold settled with no answer kept (before answers were kept this way) gets one.
    bare, _ = open_hold(db, ALICE, request("key-00014"))
    settle(db, bare.id, outcome="failed", error="stopped")
    kept, changed = settle(db, bare.id, outcome="failed", answer=(502, {"error": "stopped"}))
    assert not changed and (kept.response_status, kept.response) == (502, {"error": "stopped"})


def test_failure_charges_nothing_and_marks_the_row(db: ConvexDatabase) -> None:
    hold, _ = open_hold(db, ALICE, request("key-00004", session_title="Fails"))
    settled, _ = settle(db, hold.id, outcome="failed", error="The provider refused.")
    assert settled.charged == 0 and settled.released == 8
    assert breakdown(db) == {"total": 100, "reserved": 0, "available": 100}
    assert slot_status(db, hold.slot_id) == "failed"
    row = qry(db, "sessions:getSessionGenerations", {"sessionId": hold.session_id})[0]
    assert row["error"] == "The provider refused." and row["isLoading"] is False


def test_a_repeated_key_returns_the_same_hold_and_reserves_once(db: ConvexDatabase) -> None:
    first, opened = open_hold(db, ALICE, request("key-00005"))
    second, opened_again = open_hold(db, ALICE, request("key-00005"))
    assert opened and not opened_again and second.id == first.id
    assert breakdown(db)["reserved"] == 8
    # Another user's same key is another hold.
    bobs, bob_opened = open_hold(db, BOB, request("key-00005"))
    assert bob_opened and bobs.id != first.id


def test_the_same_key_for_another_body_is_refused(db: ConvexDatabase) -> None:
    open_hold(db, ALICE, request("key-00006"))
    with pytest.raises(ApiError) as info:
        open_hold(db, ALICE, request("key-00006", body_hash="other"))
    assert info.value.status == 422 and info.value.code == "idempotency_key_mismatch"


def test_refusals_change_nothing(db: ConvexDatabase) -> None:
    with pytest.raises(ApiError) as info:
        open_hold(db, ALICE, request("key-00007", amount=101))
    assert info.value.status == 402 and info.value.extra == {"needed": 101, "available": 100}
    open_hold(db, ALICE, request("key-00008"))
    open_hold(db, ALICE, request("key-00009"))
    with pytest.raises(ApiError) as info:
        open_hold(db, ALICE, request("key-00010"))
    assert info.value.status == 429 and info.value.extra == {"limit": 2, "active": 2}
    assert breakdown(db)["reserved"] == 16  # the two holds, nothing of the refused ones


def test_seed_flow_binds_the_reservation_and_absorbs_the_clients_capture(
    db: ConvexDatabase,
) -> None:
    slot = mut(db, "generations:acquireGenerationSlot", {"type": "image", "prompt": "p"})
    assert mut(db, "users:reserveCredits", {"amount": 8}) == {"success": True}
    hold, _ = open_hold(
        db,
        ALICE,
        request(f"slot:{slot['generationId']}", kind="slot", slot_id=slot["generationId"]),
    )
    # While the server holds it, the client can neither end the slot nor take the money.
    mut(
        db,
        "generations:updateGenerationStatus",
        {"generationId": hold.slot_id, "status": "completed"},
    )
    assert slot_status(db, hold.slot_id) == "active"
    assert mut(db, "users:captureReservedCredits", {"amount": 8})["captured"] == 0
    assert breakdown(db) == {"total": 100, "reserved": 8, "available": 92}
    settle(db, hold.id, outcome="completed", urls=["a", "b", "c", "d"])
    assert breakdown(db) == {"total": 92, "reserved": 0, "available": 92}
    # The client's own capture, after the server settled: absorbed, charged once.
    answer = mut(db, "users:captureReservedCredits", {"amount": 8})
    assert answer["settledByServer"] is True and answer["captured"] == 0
    assert breakdown(db) == {"total": 92, "reserved": 0, "available": 92}


def test_seed_flow_needs_its_reservation_and_its_own_active_slot(db: ConvexDatabase) -> None:
    slot = mut(db, "generations:acquireGenerationSlot", {"type": "image", "prompt": "p"})
    slot_id = slot["generationId"]
    seed = request(f"slot:{slot_id}", kind="slot", slot_id=slot_id)
    with pytest.raises(ApiError) as info:
        open_hold(db, ALICE, seed)  # nothing reserved
    assert info.value.status == 402
    mut(db, "users:reserveCredits", {"amount": 8}, BOB)
    with pytest.raises(ApiError) as info:
        open_hold(db, BOB, seed)  # Alice's slot
    assert info.value.status == 403
    mut(db, "generations:updateGenerationStatus", {"generationId": slot_id, "status": "failed"})
    mut(db, "users:reserveCredits", {"amount": 8})
    with pytest.raises(ApiError) as info:
        open_hold(db, ALICE, seed)
    assert info.value.status == 409 and info.value.code == "slot_not_active"


def test_client_capture_never_exceeds_the_reservation(db: ConvexDatabase) -> None:
    assert mut(db, "users:captureReservedCredits", {"amount": 7})["captured"] == 0
    assert breakdown(db)["total"] == 100
    mut(db, "users:reserveCredits", {"amount": 10})
    assert mut(db, "users:captureReservedCredits", {"amount": 10})["captured"] == 10
    assert mut(db, "users:captureReservedCredits", {"amount": 10})["captured"] == 0
    assert breakdown(db) == {"total": 90, "reserved": 0, "available": 90}


def test_client_release_cannot_free_what_a_hold_bound(db: ConvexDatabase) -> None:
    open_hold(db, ALICE, request("key-00011"))
    assert mut(db, "users:releaseReservedCredits", {"amount": 8})["released"] == 0
    assert breakdown(db)["reserved"] == 8
