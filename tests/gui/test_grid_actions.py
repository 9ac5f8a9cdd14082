"""Cancel and favourite from the grid, against the real embedded backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from backend.convex_host.invariants import check_invariants
from gui.widgets.generation_delegate import card_layout
from gui.widgets.main_window import MainWindow
from gui.widgets.request_state import RequestState
from tests.gui.support import open_window, type_and_generate, until


@pytest.fixture
def backend_timings() -> dict[str, Any]:
    # A queue long enough that the job is certainly still queued when Cancel is clicked.
    return {"local_queue_s": 20.0, "local_run_s": 0.3}


def _click(window: MainWindow, key: str, what: str, index: int = 0) -> None:
    """Click the card's `what` ("cancel", "retry", or "heart") like a user would."""
    grid = window.grid
    row = window.generations.row_of(key)
    item = window.generations.items()[row]
    layout = card_layout(grid.visualRect(grid.model().index(row, 0)), item, 7)
    rect = {
        "retry": layout.retry,
        "heart": layout.hearts[index] if layout.hearts else None,
    }.get(what, layout.buttons.get(what))
    assert rect is not None, f"the card has no {what}"
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_cancel_a_queued_generation_then_retry(run_qasync, tmp_path: Path) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            start = await session.engine.credits.refresh()
            type_and_generate(window, "a slow harbour", RequestState(model="img-seedream-v4"))
            model = window.generations
            key = model.items()[0].key
            await until(lambda: model.items()[0].detail.startswith("In queue"))
            _click(window, key, "cancel")
            await until(lambda: model.items()[0].status == "cancelled")
            item = model.items()[0]
            assert item.error == "Cancelled." and not controller.engine.in_flight()
            assert "cancel" not in card_layout(window.grid.visualRect(model.index(0)), item).buttons
            after = await session.engine.credits.refresh()
            assert after.available == start.available and after.reserved == 0
            assert session.backend is not None
            db = session.backend.app.state.convex_db
            assert check_invariants(db, "local-user") == []
            records = await session.library.generations(controller.current_session)
            assert records and records[0].error  # marked with a readable reason

            _click(window, key, "retry")  # the cancelled tile offers Retry
            await until(lambda: model.rowCount() >= 1 and model.items()[0].key != key)
            assert model.get(key) is None and model.items()[0].prompt == "a slow harbour"
            assert model.items()[0].loading
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)


def test_heart_toggles_a_favourite_that_persists(
    run_qasync, tmp_path: Path, backend_timings: dict[str, Any]
) -> None:
    backend_timings["local_queue_s"] = 0.2

    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            type_and_generate(window, "two pears", RequestState(model="img-imagen4-preview"))
            model = window.generations
            await until(lambda: model.items()[0].status == "done")
            key, url = model.items()[0].key, model.items()[0].images[0]
            _click(window, key, "heart")
            await until(lambda: model.get(key).favorites == {url})
            records = await session.library.generations(controller.current_session)
            assert records[0].favorite_image_urls == [url]
            # Reloading the session shows the heart filled; clicking again clears it.
            window.generations.set_records(records)
            assert window.generations.items()[0].favorites == {url}
            _click(window, window.generations.items()[0].key, "heart")
            await until(lambda: window.generations.items()[0].favorites == set())
            records = await session.library.generations(controller.current_session)
            assert records[0].favorite_image_urls == []
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
