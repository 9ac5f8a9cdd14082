"""Issue 14 item 1: retrying the first generation of a new session stays in that session.

The session of a new session's first generation is made on the way (by the server from
``sessionTitle`` on the one-call path, by the engine on the seed's flow), so the saved
request has no session id. A failure must still tell the tile its session, and "Try
again" must run there instead of creating a second session of the same name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from gui.widgets.generation_delegate import card_layout
from gui.widgets.main_window import MainWindow
from gui.widgets.request_state import RequestState
from tests.gui.support import open_window, until

PROMPT = "[fail] a broken kite"
FAST = {"local_queue_s": 0.2, "local_run_s": 0.3}


def _click_retry(window: MainWindow, key: str) -> None:
    grid = window.grid
    row = window.generations.row_of(key)
    item = window.generations.items()[row]
    layout = card_layout(grid.visualRect(grid.model().index(row, 0)), item, 7)
    assert layout.retry is not None, "the failed card offers no retry"
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=layout.retry.center())


def _titles(window: MainWindow) -> list[str]:
    return [window.sidebar.list.item(i).text() for i in range(window.sidebar.list.count())]


@pytest.mark.parametrize(
    ("model", "backend_timings"),
    [
        ("img-reve", FAST),  # one-call path, fails in the generate answer
        ("img-seedream-v4", FAST),  # one-call path, a queued job that fails
        ("img-reve", {**FAST, "advertise_server_billing": False}),  # the seed's flow
    ],
    ids=["one-call-sync", "one-call-queued", "seed-flow"],
)
def test_retrying_a_new_sessions_first_failure_stays_in_that_session(
    run_qasync: Any, tmp_path: Path, qtbot: Any, model: str, backend_timings: dict[str, Any]
) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            window.sidebar.new_button.click()
            bar = window.prompt_bar
            bar.set_state(RequestState(model=model))
            qtbot.keyClicks(bar.prompt, PROMPT)
            qtbot.keyClick(bar.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
            grid = window.generations
            await until(lambda: grid.rowCount() == 1 and grid.items()[0].status == "error")
            failed = grid.items()[0]
            await until(lambda: len(window.sidebar.session_ids()) == 1)
            first = window.sidebar.session_ids()[0]
            # The failed tile knows its session, and the new session is now the open one.
            assert failed.session_id == first
            assert controller.current_session == first

            _click_retry(window, failed.key)
            await until(lambda: grid.rowCount() == 1 and grid.items()[0].key != failed.key)
            retried = grid.items()[0]
            assert retried.session_id == first
            await until(lambda: grid.items()[0].status == "error")
            await until(lambda: not controller.engine.in_flight())

            sessions = await session.library.sessions()
            assert len(sessions) == 1, _titles(window)
            await until(lambda: window.sidebar.session_ids() == [first])
            assert controller.current_session == first
            # Both attempts are rows of the one session.
            records = await session.library.generations(first)
            assert [r.prompt for r in records] == [PROMPT, PROMPT]
            assert all(r.error for r in records)
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
