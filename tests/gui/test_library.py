"""The Library against the real embedded backend: search across sessions, favourites,
the sidebar's filter, rename, and delete with Undo (deleted for real only afterwards).

Driven through the real widgets (buttons, menus, typed text); waits poll (`until`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QMessageBox, QPushButton

from gui.app import EngineSession
from gui.widgets.controller import WindowController
from gui.widgets.main_window import MainWindow
from gui.widgets.request_state import RequestState
from tests.gui.support import open_window, type_and_generate, until

FAST = RequestState(model="img-hunyuan-v3")


async def _two_sessions(window: MainWindow, controller: WindowController) -> tuple[str, str]:
    """A session with "a red fox", then a new one with "a blue whale" (ids in that order)."""
    type_and_generate(window, "a red fox", FAST)
    await until(lambda: [i.status for i in window.generations.items()] == ["done"])
    fox = controller.current_session
    window.sidebar.new_button.click()
    type_and_generate(window, "a blue whale", FAST)
    await until(lambda: [i.status for i in window.generations.items()] == ["done"])
    whale = controller.current_session
    await until(lambda: len(window.sidebar.session_ids()) == 2)
    assert fox and whale and fox != whale
    return fox, whale


def _menu_action(window: MainWindow, session_id: str, label: str) -> None:
    """Right-click the session's row and pick `label` from its menu."""
    sessions = window.sidebar.list
    row = window.sidebar.session_ids().index(session_id)
    at = sessions.visualItemRect(sessions.item(row)).center()
    sessions.customContextMenuRequested.emit(at)
    menu = window.sidebar.tools.menu
    assert menu is not None
    [action] = [a for a in menu.actions() if a.text().startswith(label)]
    action.trigger()
    menu.close()


def _confirm_delete(controller: WindowController) -> None:
    box = controller.library_actions.confirm
    assert box is not None and "and all its images" in box.text()
    [delete] = [
        b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole
    ]
    delete.click()


async def _close(window: MainWindow, session: EngineSession) -> None:
    window.close()
    await session.close()


def test_library_searches_every_session_and_lists_favourites(
    run_qasync, tmp_path: Path, qtbot
) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            fox, whale = await _two_sessions(window, controller)
            # Mark the whale's image a favourite from the grid, as a user does.
            whale_tile = window.generations.items()[0]
            controller.actions.toggle_favorite(whale_tile.key, 0)
            await until(lambda: bool(window.generations.items()[0].favorites))

            window.sidebar.library_button.click()
            dialog = controller.library_actions.dialog
            assert dialog is not None and dialog.isVisible()
            await until(lambda: dialog.loaded and len(dialog.visible_entries()) == 2)
            assert dialog.count.text() == "2 generations of 2"
            qtbot.keyClicks(dialog.search, "FOX red")  # any order, any case
            assert [e.generation.prompt for e in dialog.visible_entries()] == ["a red fox"]
            dialog.search.clear()
            qtbot.keyClicks(dialog.search, "hunyuan")  # the model's label matches too
            assert len(dialog.visible_entries()) == 2
            dialog.search.clear()
            dialog.favorites_button.click()
            [favourite] = dialog.visible_entries()
            assert favourite.generation.prompt == "a blue whale"
            assert favourite.favorite_urls == [whale_tile.images[0]]
            assert dialog.count.text() == "1 favourite of 2"
            qtbot.keyClicks(dialog.search, "fox")
            assert dialog.visible_entries() == [] and "Nothing matches" in dialog.count.text()
            # Opening a result opens its session in the window.
            dialog.search.clear()
            dialog.all_button.click()
            fox_row = [e.generation.prompt for e in dialog.visible_entries()].index("a red fox")
            dialog.list.activated.emit(dialog.model.index(fox_row))
            await until(lambda: controller.current_session == fox)
            await until(lambda: [i.prompt for i in window.generations.items()] == ["a red fox"])
            assert whale in window.sidebar.session_ids()
        finally:
            await _close(window, session)

    run_qasync(scenario)


def test_sidebar_filters_as_you_type_and_renames(run_qasync, tmp_path: Path, qtbot) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            fox, whale = await _two_sessions(window, controller)
            tools = window.sidebar.tools
            qtbot.keyClicks(tools.filter, "whale")
            assert tools.visible_ids() == [whale]
            tools.filter.clear()
            assert set(tools.visible_ids()) == {fox, whale}

            _menu_action(window, fox, "Rename")
            dialog = controller.library_actions.rename_dialog
            assert dialog is not None
            dialog.field.clear()
            assert not dialog.ok_button.isEnabled()  # an empty name is refused at once
            qtbot.keyClicks(dialog.field, "  Foxes   at dusk ")
            dialog.ok_button.click()
            await until(lambda: controller.session_titles.get(fox) == "Foxes at dusk")
            stored = {s.id: s.title for s in await session.library.sessions()}
            assert stored[fox] == "Foxes at dusk"
            # The filter still applies after the reload the rename caused.
            qtbot.keyClicks(tools.filter, "dusk")
            await until(lambda: tools.visible_ids() == [fox])
        finally:
            await _close(window, session)

    run_qasync(scenario)


def test_delete_asks_can_be_undone_and_deletes_only_after(run_qasync, tmp_path: Path) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            fox, whale = await _two_sessions(window, controller)
            # Asked, then refused: nothing happens.
            _menu_action(window, fox, "Delete")
            box = controller.library_actions.confirm
            assert box is not None
            box.button(QMessageBox.StandardButton.Cancel).click()
            assert fox in window.sidebar.session_ids()

            # Deleted: gone from the sidebar at once, still on the server until it expires.
            _menu_action(window, fox, "Delete")
            _confirm_delete(controller)
            await until(lambda: window.sidebar.session_ids() == [whale])
            assert fox in session.library.trash.pending
            assert any("Deleted" in m for m in window.toasts.messages())
            undo = controller.library_actions.undo_buttons[fox]
            assert isinstance(undo, QPushButton) and undo.text() == "Undo"
            undo.click()
            await until(lambda: set(window.sidebar.session_ids()) == {fox, whale})
            assert not session.library.trash.pending

            # The current session, deleted: the window shows a new, empty one.
            controller.switch_session(whale)
            await until(lambda: controller.current_session == whale)
            _menu_action(window, whale, "Delete")
            _confirm_delete(controller)
            assert controller.current_session is None and window.generations.rowCount() == 0
            await until(lambda: window.sidebar.session_ids() == [fox])
        finally:
            # Closing within the undo window deletes for real (what was deleted stays so).
            await _close(window, session)

        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            await until(lambda: window.sidebar.session_ids() == [fox])
            index = await session.library.index()
            assert [e.generation.prompt for e in index.search("")] == ["a red fox"]
        finally:
            await _close(window, session)

    run_qasync(scenario)


def test_rename_refusal_from_the_host_is_a_toast(run_qasync, tmp_path: Path) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            type_and_generate(window, "a red fox", FAST)
            await until(lambda: [i.status for i in window.generations.items()] == ["done"])
            fox = controller.current_session
            assert fox
            controller.library_actions.rename(fox, "x" * 300)  # past the host's limit
            await until(lambda: any("at most 200" in m for m in window.toasts.messages()))
            assert controller.session_titles[fox] != "x" * 300
        finally:
            await _close(window, session)

    run_qasync(scenario)


def test_menu_on_empty_space_offers_nothing(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.sidebar.list.customContextMenuRequested.emit(QPoint(5, 5))
    assert window.sidebar.tools.menu is None
