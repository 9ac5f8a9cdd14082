"""Semantics of every Convex function of design.md §4, run directly on a real database
(SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from backend.convex_host.database import ConvexDatabase
from backend.convex_host.errors import (
    ArgumentValidationError,
    ConvexFunctionError,
    ConvexSystemError,
    FunctionNotFoundError,
)
from backend.convex_host.ids import is_id_of, new_id
from backend.convex_host.registry import run_function
from backend.convex_host.tables import users
from tests.unit.convex_support import BOB, count, mut, only_row, qry


@pytest.fixture
def db(database_url: str) -> Iterator[ConvexDatabase]:
    with ConvexDatabase(database_url, starting_credits=200, slot_limit=4) as d:
        yield d


def user_count(db: ConvexDatabase) -> int:
    return count(db, "users")


# -- users ---------------------------------------------------------------------------------


def test_new_user_gets_starting_credits_and_queries_do_not_write(db: ConvexDatabase) -> None:
    assert qry(db, "users:getUserCredits", {}) == {
        "totalCredits": 200,
        "credits": 200,
        "additionalCredits": 0,
    }
    assert user_count(db) == 0  # a query never writes
    assert mut(db, "users:reserveCredits", {"amount": 1}) == {"success": True}
    assert user_count(db) == 1
    row = only_row(db, "users")
    assert is_id_of(row["_id"], "users") and row["slotLimit"] == 4
    assert row["_creationTime"] > 1.6e12  # milliseconds


def test_reserve_capture_release_balance(db: ConvexDatabase) -> None:
    assert mut(db, "users:reserveCredits", {"amount": 30}) == {"success": True}
    assert qry(db, "users:getUserCreditsBreakdown", {}) == {
        "total": 200,
        "reserved": 30,
        "available": 170,
    }
    mut(db, "users:captureReservedCredits", {"amount": 10})
    mut(db, "users:releaseReservedCredits", {"amount": 20})
    assert qry(db, "users:getUserCreditsBreakdown", {}) == {
        "total": 190,
        "reserved": 0,
        "available": 190,
    }
    # Releasing more than reserved never drives the reservation negative.
    mut(db, "users:releaseReservedCredits", {"amount": 50})
    assert qry(db, "users:getUserCreditsBreakdown", {})["reserved"] == 0


def test_reserve_refuses_beyond_available_with_a_message(db: ConvexDatabase) -> None:
    assert mut(db, "users:reserveCredits", {"amount": 150})["success"] is True
    result = mut(db, "users:reserveCredits", {"amount": 60})
    assert result["success"] is False
    assert result["message"].startswith("Not enough credits")
    assert "60" in result["message"] and "50" in result["message"]
    assert qry(db, "users:getUserCreditsBreakdown", {})["reserved"] == 150


def test_capture_spends_credits_before_additional_credits(db: ConvexDatabase) -> None:
    mut(db, "users:reserveCredits", {"amount": 0})
    with db.write() as conn:
        conn.execute(users.update().values(credits=5, additionalCredits=20))
    assert qry(db, "users:getUserCredits", {})["totalCredits"] == 25
    assert mut(db, "users:reserveCredits", {"amount": 8}) == {"success": True}
    mut(db, "users:captureReservedCredits", {"amount": 8})
    assert qry(db, "users:getUserCredits", {}) == {
        "totalCredits": 17,
        "credits": 0,
        "additionalCredits": 17,
    }


def test_negative_amount_is_refused(db: ConvexDatabase) -> None:
    with pytest.raises(ConvexFunctionError, match="Invalid amount"):
        mut(db, "users:reserveCredits", {"amount": -5})


# -- generations (slots) --------------------------------------------------------------------


def test_slot_limit_and_reuse_after_completion(db: ConvexDatabase) -> None:
    ids = []
    for i in range(4):
        result = mut(db, "generations:acquireGenerationSlot", {"type": "image", "prompt": f"p{i}"})
        assert result["ok"] is True and is_id_of(result["generationId"], "generations")
        ids.append(result["generationId"])
    assert mut(db, "generations:acquireGenerationSlot", {"type": "image", "prompt": "x"}) == {
        "ok": False,
        "reason": "limit_reached",
        "limit": 4,
        "active": 4,
    }
    mut(db, "generations:updateGenerationStatus", {"generationId": ids[0], "status": "completed"})
    assert mut(db, "generations:acquireGenerationSlot", {"type": "image", "prompt": "y"})["ok"]
    # Bob has his own four slots.
    assert mut(db, "generations:acquireGenerationSlot", {"type": "image"}, BOB)["ok"]


def test_configured_slot_limit(database_url: str) -> None:
    with ConvexDatabase(database_url, slot_limit=1) as small:
        assert mut(small, "generations:acquireGenerationSlot", {"type": "image"})["ok"]
        result = mut(small, "generations:acquireGenerationSlot", {"type": "image"})
        assert (result["ok"], result["limit"], result["active"]) == (False, 1, 1)


def test_status_update_is_idempotent_and_terminal_is_final(db: ConvexDatabase) -> None:
    slot = mut(db, "generations:acquireGenerationSlot", {"type": "image"})["generationId"]
    args = {"generationId": slot, "status": "completed", "imageUrl": "http://s/1.png"}
    assert mut(db, "generations:updateGenerationStatus", args) is None
    assert mut(db, "generations:updateGenerationStatus", args) is None
    mut(db, "generations:updateGenerationStatus", {"generationId": slot, "status": "failed"})
    row = only_row(db, "generations")
    assert (row["status"], row["imageUrl"]) == ("completed", "http://s/1.png")


def test_slot_ownership_and_missing_ids(db: ConvexDatabase) -> None:
    slot = mut(db, "generations:acquireGenerationSlot", {"type": "image"})["generationId"]
    with pytest.raises(ConvexFunctionError, match="Not authorized"):
        mut(
            db,
            "generations:updateGenerationStatus",
            {"generationId": slot, "status": "failed"},
            BOB,
        )
    with pytest.raises(ConvexFunctionError, match="not found"):
        mut(
            db,
            "generations:updateGenerationStatus",
            {"generationId": new_id("generations"), "status": "failed"},
        )
    with pytest.raises(ArgumentValidationError, match=r"v\.union"):
        mut(db, "generations:updateGenerationStatus", {"generationId": slot, "status": "active"})


# -- sessions -------------------------------------------------------------------------------


def add_tile(db: ConvexDatabase, session_id: str, prompt: str, **extra: Any) -> str:
    args = {
        "sessionId": session_id,
        "prompt": prompt,
        "type": "image",
        "model": "gpt-image-1",
        "modelLabel": "GPT Image",
        "aspectRatio": "1:1",
        "numImages": 1,
        "isLoading": True,
        **extra,
    }
    return mut(db, "sessions:addGenerationToSession", args)


def test_session_flow_preview_and_ordering(db: ConvexDatabase) -> None:
    first = mut(db, "sessions:createSession", {"title": "Cats", "type": "image"})
    second = mut(db, "sessions:createSession", {"title": "Dogs", "type": "image"})
    assert is_id_of(first, "sessions")
    slot = mut(db, "generations:acquireGenerationSlot", {"type": "image"})["generationId"]
    a = add_tile(db, first, "a cat", concurrencySlotId=slot, externalRequestId="req-1")
    b = add_tile(db, first, "another cat", quality="high")
    mut(
        db,
        "sessions:updateGeneration",
        {
            "generationId": a,
            "isLoading": False,
            "images": [{"url": "http://s/a.png"}],
            "completedAt": 123.0,
        },
    )
    sessions = qry(db, "sessions:getUserSessions", {})
    # The session touched last comes first; its preview is its latest finished image.
    assert [s["_id"] for s in sessions] == [first, second]
    assert sessions[0]["preview"] == "http://s/a.png" and "preview" not in sessions[1]
    assert set(sessions[0]) >= {"_id", "title", "type", "createdAt", "updatedAt"}

    tiles = qry(db, "sessions:getSessionGenerations", {"sessionId": first})
    assert [t["_id"] for t in tiles] == [a, b]
    # Every field design.md §4 lists for getSessionGenerations (optional ones once set).
    assert set(tiles[0]) >= {
        "_id", "prompt", "model", "modelLabel", "aspectRatio", "numImages", "images",
        "isLoading", "createdAt", "completedAt", "externalRequestId",
    }  # fmt: skip
    assert tiles[0]["images"] == [{"url": "http://s/a.png"}]
    assert tiles[0]["isLoading"] is False and tiles[0]["completedAt"] == 123
    # Partial update left the other fields alone.
    assert tiles[0]["externalRequestId"] == "req-1" and tiles[0]["prompt"] == "a cat"
    assert tiles[1]["isLoading"] is True and tiles[1]["quality"] == "high"
    assert "error" not in tiles[1] and "completedAt" not in tiles[1]

    mut(db, "sessions:updateGeneration", {"generationId": b, "isLoading": False, "error": "boom"})
    tiles = qry(db, "sessions:getSessionGenerations", {"sessionId": first})
    assert tiles[1]["error"] == "boom"
    assert qry(db, "sessions:getUserSessions", {})[0]["preview"] == "http://s/a.png"


def test_provider_endpoint_is_rejected_like_convex_validator(db: ConvexDatabase) -> None:
    session = mut(db, "sessions:createSession", {"title": "t", "type": "image"})
    with pytest.raises(ArgumentValidationError, match="extra field `providerEndpoint`"):
        add_tile(db, session, "p", providerEndpoint="fal-ai/flux")
    assert qry(db, "sessions:getSessionGenerations", {"sessionId": session}) == []


def test_favorites_toggle_and_delete_media(db: ConvexDatabase) -> None:
    session = mut(db, "sessions:createSession", {"title": "t", "type": "image"})
    tile = add_tile(db, session, "p", numImages=2)
    images = [{"url": "http://s/1.png"}, {"url": "http://s/2.png"}]
    mut(
        db,
        "sessions:updateGeneration",
        {"generationId": tile, "isLoading": False, "images": images},
    )
    args = {"generationId": tile, "imageUrl": "http://s/2.png"}
    assert mut(db, "sessions:toggleFavorite", args) is True
    assert mut(db, "sessions:toggleFavorite", {"generationId": tile}) is True
    doc = qry(db, "sessions:getSessionGenerations", {"sessionId": session})[0]
    assert doc["favoriteImageUrls"] == ["http://s/2.png"] and doc["isFavorite"] is True
    assert mut(db, "sessions:toggleFavorite", args) is False

    mut(db, "sessions:deleteAssetMedia", {"generationId": tile, "imageUrl": "http://s/1.png"})
    doc = qry(db, "sessions:getSessionGenerations", {"sessionId": session})[0]
    assert doc["images"] == [{"url": "http://s/2.png"}]
    assert qry(db, "sessions:getUserSessions", {})[0]["preview"] == "http://s/2.png"
    mut(db, "sessions:deleteAssetMedia", {"generationId": tile})
    assert qry(db, "sessions:getSessionGenerations", {"sessionId": session}) == []
    assert "preview" not in qry(db, "sessions:getUserSessions", {})[0]
    assert count(db, "favorites") == 0


def test_session_ownership(db: ConvexDatabase) -> None:
    session = mut(db, "sessions:createSession", {"title": "mine", "type": "image"})
    tile = add_tile(db, session, "p")
    with pytest.raises(ConvexFunctionError, match="Not authorized"):
        qry(db, "sessions:getSessionGenerations", {"sessionId": session}, BOB)
    with pytest.raises(ConvexFunctionError, match="Not authorized"):
        add_tile_as_bob = {"sessionId": session, "prompt": "x", "model": "m"}
        mut(db, "sessions:addGenerationToSession", add_tile_as_bob, BOB)
    for path in (
        "sessions:updateGeneration",
        "sessions:toggleFavorite",
        "sessions:deleteAssetMedia",
    ):
        with pytest.raises(ConvexFunctionError, match="Not authorized"):
            mut(db, path, {"generationId": tile}, BOB)
    assert qry(db, "sessions:getUserSessions", {}, BOB) == []
    with pytest.raises(ConvexFunctionError, match="Session not found"):
        qry(db, "sessions:getSessionGenerations", {"sessionId": new_id("sessions")})


# -- function-call errors ---------------------------------------------------------------------


def test_convex_style_call_errors(db: ConvexDatabase) -> None:
    with pytest.raises(FunctionNotFoundError, match="Could not find public function for 'x:y'"):
        mut(db, "x:y", {})
    with pytest.raises(ConvexSystemError, match="as Query, but it is defined as Mutation"):
        qry(db, "users:reserveCredits", {"amount": 1})
    with pytest.raises(ArgumentValidationError, match=r"Path: \.amount\nValue: \"ten\""):
        mut(db, "users:reserveCredits", {"amount": "ten"})
    with pytest.raises(ArgumentValidationError, match="missing the required field `amount`"):
        mut(db, "users:reserveCredits", {})
    with pytest.raises(ArgumentValidationError, match="must be an object"):
        mut(db, "users:reserveCredits", [1])  # type: ignore[arg-type]
    # An id of another table is not a session id, as with Convex's v.id("sessions").
    with pytest.raises(ArgumentValidationError, match=r'v\.id\("sessions"\)'):
        qry(db, "sessions:getSessionGenerations", {"sessionId": new_id("generations")})
    with pytest.raises(ArgumentValidationError):
        mut(db, "sessions:createSession", {"title": None})  # optional/required: never null
    assert mut(db, "users.js:reserveCredits", {"amount": 1}) == {"success": True}


def test_anonymous_caller_is_refused(db: ConvexDatabase) -> None:
    with pytest.raises(ConvexFunctionError, match="Not authenticated"):
        run_function(db, "query", "users:getUserCredits", {}, None)
    assert user_count(db) == 0
