"""The window against the real embedded backend: generate, fail, switch sessions, resume.

Each test runs its scenario on a qasync loop (Qt events and asyncio interleave, as in the
app). Waits poll a condition (`until`), never a fixed sleep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from gui.widgets.main_window import MainWindow
from gui.widgets.request_state import RequestState
from tests.gui.support import open_window as _open
from tests.gui.support import type_and_generate as _type_and_generate
from tests.gui.support import until


def test_generate_end_to_end_then_switch_sessions(run_qasync, tmp_path: Path) -> None:
    async def scenario() -> None:
        session, window, controller = await _open(tmp_path)
        try:
            model = window.generations
            assert model.rowCount() == 0 and window.grid.empty.isVisible()
            await until(lambda: window.header.credits.text() != "— credits")
            before = window.header.credits.text()
            _type_and_generate(
                window, "a red fox", RequestState(model="img-nano-banana", num_images=2)
            )
            # The tile is there at once, before any network round trip completed.
            assert model.rowCount() == 1 and model.items()[0].loading
            await until(lambda: model.items()[0].status == "done")
            item = model.items()[0]
            assert len(item.images) == 2 and all(
                u.startswith("http://127.0.0.1") for u in item.images
            )
            await until(lambda: window.cache.peek(item.images[0]) is not None)
            await until(lambda: window.header.credits.text() != before)
            first_session = controller.current_session
            assert first_session is not None
            await until(lambda: first_session in window.sidebar.session_ids())

            # A new session starts empty; its first generation creates it.
            window.sidebar.new_button.click()
            assert model.rowCount() == 0
            _type_and_generate(window, "a blue whale", RequestState(model="img-imagen4-preview"))
            await until(lambda: model.rowCount() == 1 and model.items()[0].status == "done")
            await until(lambda: len(window.sidebar.session_ids()) == 2)
            second = controller.current_session
            assert second not in (None, first_session)

            # Switching back shows the first session's generation from the backend.
            window.sidebar.select(None)
            window.sidebar.list.setCurrentRow(window.sidebar.session_ids().index(first_session))
            await until(lambda: controller.current_session == first_session)
            await until(lambda: [i.prompt for i in model.items()] == ["a red fox"])
            assert len(model.items()[0].images) == 2

            # Clicking an image opens the carousel over every image of the session.
            dialog = controller.open_carousel(model.items()[0].key, 1)
            assert dialog.counter.text() == "2 / 2"
            dialog.reject()
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)


def test_failure_shows_an_error_tile_and_toast(run_qasync, tmp_path: Path) -> None:
    async def scenario() -> None:
        session, window, _controller = await _open(tmp_path)
        try:
            _type_and_generate(window, "[fail] please", RequestState(model="img-reve"))
            model = window.generations
            await until(lambda: model.rowCount() == 1 and model.items()[0].status == "error")
            message = model.items()[0].error
            assert message
            assert message in window.toasts.messages()
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)


def test_in_flight_jobs_resume_as_loading_tiles(run_qasync, tmp_path: Path) -> None:
    async def scenario() -> None:
        session, window, _ = await _open(tmp_path)
        _type_and_generate(window, "a slow castle", RequestState(model="img-seedream-v4"))
        model = window.generations
        await until(lambda: bool(model.items()[0].generation_id))
        window.close()
        await session.close()  # stops mid-flight: the journal keeps the job

        session, window, controller = await _open(tmp_path)
        try:
            await until(lambda: any(i.prompt == "a slow castle" for i in model_items(window)))
            await until(lambda: [i.status for i in model_items(window)] == ["done"])
            assert len(model_items(window)[0].images) == 1
            await until(lambda: not controller.engine.in_flight())
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)


def model_items(window: MainWindow) -> list[Any]:
    return window.generations.items()


def test_ctrl_enter_submits(run_qasync, tmp_path: Path, qtbot) -> None:
    async def scenario() -> None:
        session, window, _ = await _open(tmp_path, resume=False)
        try:
            window.prompt_bar.set_state(RequestState(model="img-hunyuan-v3"))
            qtbot.keyClicks(window.prompt_bar.prompt, "a tiny robot")
            qtbot.keyClick(
                window.prompt_bar.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
            )
            assert window.generations.rowCount() == 1
            await until(lambda: window.generations.items()[0].status == "done")
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)


def test_quick_submits_share_the_new_session(run_qasync, tmp_path: Path) -> None:
    async def scenario() -> None:
        session, window, controller = await _open(tmp_path, resume=False)
        try:
            _type_and_generate(window, "first", RequestState(model="img-imagen4-preview"))
            _type_and_generate(window, "second", RequestState(model="img-imagen4-preview"))
            model = window.generations
            await until(lambda: model.rowCount() == 2)
            await until(lambda: all(i.status == "done" for i in model.items()))
            assert {i.session_id for i in model.items()} == {controller.current_session}
            records = await session.library.generations(controller.current_session)
            assert sorted(r.prompt for r in records) == ["first", "second"]
            assert len(await session.library.sessions()) == 1
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
