"""The library's Convex functions (rename, delete, every generation a page at a time), run
on a real database (SQLite and PostgreSQL), including as another user and with arguments
of the wrong shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from backend.convex_host.database import ConvexDatabase
from backend.convex_host.errors import ArgumentValidationError, ConvexFunctionError
from backend.convex_host.ids import new_id
from tests.unit.convex_support import BOB, count, mut, qry


@pytest.fixture
def db(database_url: str) -> Iterator[ConvexDatabase]:
    with ConvexDatabase(database_url, starting_credits=200, slot_limit=4) as d:
        yield d


def _session_with_tile(db: ConvexDatabase, title: str = "Foxes", **tile: Any) -> tuple[str, str]:
    session = mut(db, "sessions:createSession", {"title": title, "type": "image"})
    args = {"sessionId": session, "prompt": "a fox", "model": "m", "isLoading": False, **tile}
    return session, mut(db, "sessions:addGenerationToSession", args)


def test_rename_collapses_whitespace_and_refuses_empty_or_long_titles(db: ConvexDatabase) -> None:
    session, _ = _session_with_tile(db)
    stored = mut(db, "sessions:renameSession", {"sessionId": session, "title": "  Red \n fox "})
    assert stored == "Red fox"
    assert qry(db, "sessions:getUserSessions", {})[0]["title"] == "Red fox"
    with pytest.raises(ConvexFunctionError, match="cannot be empty"):
        mut(db, "sessions:renameSession", {"sessionId": session, "title": " \t"})
    with pytest.raises(ConvexFunctionError, match="at most 200 characters"):
        mut(db, "sessions:renameSession", {"sessionId": session, "title": "x" * 201})
    assert qry(db, "sessions:getUserSessions", {})[0]["title"] == "Red fox"


def test_delete_removes_the_session_its_generations_and_favourites(db: ConvexDatabase) -> None:
    session, tile = _session_with_tile(db)
    kept, _ = _session_with_tile(db, "Whales")
    mut(db, "sessions:toggleFavorite", {"generationId": tile})
    mut(db, "sessions:deleteSession", {"sessionId": session})
    assert [s["_id"] for s in qry(db, "sessions:getUserSessions", {})] == [kept]
    assert count(db, "favorites") == 0
    assert count(db, "sessionGenerations") == 1
    with pytest.raises(ConvexFunctionError, match="Session not found"):
        mut(db, "sessions:deleteSession", {"sessionId": session})


def test_a_session_with_a_running_generation_is_not_deleted(db: ConvexDatabase) -> None:
    session, tile = _session_with_tile(db, isLoading=True)
    with pytest.raises(ConvexFunctionError, match="still has a generation running"):
        mut(db, "sessions:deleteSession", {"sessionId": session})
    mut(db, "sessions:updateGeneration", {"generationId": tile, "isLoading": False})
    mut(db, "sessions:deleteSession", {"sessionId": session})
    assert qry(db, "sessions:getUserSessions", {}) == []


def test_another_users_session_is_refused_and_left_untouched(db: ConvexDatabase) -> None:
    session, _ = _session_with_tile(db)
    with pytest.raises(ConvexFunctionError, match="Not authorized"):
        mut(db, "sessions:renameSession", {"sessionId": session, "title": "mine now"}, BOB)
    with pytest.raises(ConvexFunctionError, match="Not authorized"):
        mut(db, "sessions:deleteSession", {"sessionId": session}, BOB)
    assert qry(db, "sessions:getUserSessions", {})[0]["title"] == "Foxes"
    # Bob's library is his own: none of Alice's generations, even paging from the start.
    assert qry(db, "sessions:getLibraryPage", {}, BOB)["page"] == []
    mut(db, "sessions:createSession", {"title": "Bob's", "type": "image"}, BOB)
    assert qry(db, "sessions:getLibraryPage", {"cursor": "0"}, BOB)["page"] == []


def test_wrong_shapes_are_refused_with_a_sentence(db: ConvexDatabase) -> None:
    session, tile = _session_with_tile(db)
    with pytest.raises(ArgumentValidationError, match=r'v\.id\("sessions"\)'):
        mut(db, "sessions:deleteSession", {"sessionId": tile})  # a generation's id
    with pytest.raises(ArgumentValidationError):
        mut(db, "sessions:renameSession", {"sessionId": session, "title": 5})
    with pytest.raises(ArgumentValidationError, match="extra field"):
        mut(db, "sessions:deleteSession", {"sessionId": session, "force": True})
    with pytest.raises(ConvexFunctionError, match="cursor is not one"):
        qry(db, "sessions:getLibraryPage", {"cursor": "1; DROP TABLE sessions"})
    for bad in (0, 1.5, 5000, -3):
        with pytest.raises(ConvexFunctionError, match="numItems must be a whole number"):
            qry(db, "sessions:getLibraryPage", {"numItems": bad})
    with pytest.raises(ConvexFunctionError, match="Session not found"):
        mut(db, "sessions:renameSession", {"sessionId": new_id("sessions"), "title": "x"})


def test_library_pages_cover_every_generation_once_with_favourites(db: ConvexDatabase) -> None:
    tiles = []
    for title in ("A", "B", "C"):
        session = mut(db, "sessions:createSession", {"title": title, "type": "image"})
        for n in range(3):
            args = {"sessionId": session, "prompt": f"{title}{n}", "model": "m"}
            tiles.append(mut(db, "sessions:addGenerationToSession", args))
    mut(db, "sessions:toggleFavorite", {"generationId": tiles[4]})
    mut(db, "sessions:toggleFavorite", {"generationId": tiles[5], "imageUrl": "http://s/1.png"})
    seen: list[dict[str, Any]] = []
    cursor = ""
    while True:
        answer = qry(db, "sessions:getLibraryPage", {"cursor": cursor, "numItems": 4})
        seen += answer["page"]
        cursor = answer["continueCursor"]
        if answer["isDone"]:
            break
    assert [doc["_id"] for doc in seen] == tiles
    assert [doc["prompt"] for doc in seen][:4] == ["A0", "A1", "A2", "B0"]
    favourites = {doc["_id"]: (doc["isFavorite"], doc["favoriteImageUrls"]) for doc in seen}
    assert favourites[tiles[4]] == (True, [])
    assert favourites[tiles[5]] == (False, ["http://s/1.png"])
    assert favourites[tiles[0]] == (False, [])
