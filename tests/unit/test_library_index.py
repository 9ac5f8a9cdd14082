"""The library's local search index and the undoable session deletion (Qt-free engine)."""

from __future__ import annotations

import asyncio
import time

from gui.engine.convex_types import SessionGeneration, SessionSummary
from gui.engine.library_index import LibraryIndex
from gui.engine.session_trash import SessionTrash

DAY_MS = 86_400_000
NOV_26_2026_MS = 1_795_694_400_000  # 2026-11-26 noon UTC


def _session(sid: str, title: str) -> SessionSummary:
    return SessionSummary.model_validate({"_id": sid, "title": title})


def _generation(
    n: int, session: str, prompt: str, model: str, **extra: object
) -> SessionGeneration:
    doc = {
        "_id": f"g{n}",
        "sessionId": session,
        "prompt": prompt,
        "model": model,
        "modelLabel": model.upper(),
        "createdAt": NOV_26_2026_MS - n * DAY_MS,
        "images": [f"http://s/{n}-a.png", f"http://s/{n}-b.png"],
        **extra,
    }
    return SessionGeneration.model_validate(doc)


def _ten_thousand() -> LibraryIndex:
    sessions = [_session(f"s{i}", f"Session {i}") for i in range(100)]
    models = ("flux", "seedream", "reve", "nano")
    generations = [
        _generation(n, f"s{n % 100}", f"a {('red', 'blue')[n % 2]} fox {n}", models[n % 4])
        for n in range(10_000)
    ]
    return LibraryIndex.build(sessions, generations)


def test_search_matches_every_word_across_prompt_model_session_and_date() -> None:
    index = _ten_thousand()
    assert len(index) == 10_000
    # Newest first: g0 is the latest generation.
    assert [e.generation.id for e in index.search("")[:2]] == ["g0", "g1"]
    red_flux = index.search("RED flux")
    assert red_flux and all(
        "red" in e.generation.prompt and e.generation.model == "flux" for e in red_flux
    )
    assert len(red_flux) == 2500
    assert [e.generation.id for e in index.search("fox 1234 session 34")] == ["g1234"]
    day = time.strftime("%Y-%m-%d", time.localtime((NOV_26_2026_MS - 3 * DAY_MS) / 1000))
    assert "g3" in [e.generation.id for e in index.search(day)]
    assert index.search("no such words here") == []


def test_favourites_view_lists_whole_and_single_image_marks() -> None:
    sessions = [_session("s1", "Foxes")]
    generations = [
        _generation(1, "s1", "whole", "flux", isFavorite=True),
        _generation(2, "s1", "one image", "flux", favoriteImageUrls=["http://s/2-b.png"]),
        _generation(3, "s1", "none", "flux"),
        _generation(4, "gone", "deleted session", "flux", isFavorite=True),
        _generation(5, "s1", "still loading", "flux", isLoading=True),
    ]
    index = LibraryIndex.build(sessions, generations)
    favourites = index.search("", favorites_only=True)
    assert [e.generation.prompt for e in favourites] == ["whole", "one image"]
    assert favourites[0].favorite_urls == ["http://s/1-a.png", "http://s/1-b.png"]
    assert favourites[1].favorite_urls == ["http://s/2-b.png"]
    assert index.search("one", favorites_only=True)[0].session_title == "Foxes"
    assert len(index.without_session("s1")) == 0


def test_trash_deletes_after_the_window_unless_undone_and_flush_deletes_now() -> None:
    async def scenario() -> None:
        deleted: list[str] = []

        async def delete(session_id: str) -> None:
            deleted.append(session_id)

        trash = SessionTrash(delete)
        expires = asyncio.ensure_future(trash.delete_later("a", 0.05))
        undone = asyncio.ensure_future(trash.delete_later("b", 30))
        flushed = asyncio.ensure_future(trash.delete_later("c", 30))
        assert trash.pending == {"a", "b", "c"}  # pending before anything ran
        assert await trash.delete_later("b", 30) is False  # already pending: left to the first
        assert trash.undo("b") is True
        assert await undone is False
        assert await expires is True
        await trash.flush()
        assert await flushed is True
        assert deleted == ["a", "c"] and trash.pending == frozenset()
        assert trash.undo("a") is False  # too late

    asyncio.run(scenario())
