"""Prompt history in the prompt bar: Up/Down walk earlier prompts, the history menu
searches them, and the window fills both from the engine (real embedded backend)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from gui.widgets.history_menu import NO_MATCH_TEXT
from gui.widgets.prompt_bar import PromptBar
from gui.widgets.request_state import RequestState
from tests.gui.support import open_window, shown_prompt_bar, type_and_generate, until

UP, DOWN = Qt.Key.Key_Up, Qt.Key.Key_Down


def cursor_line(bar: PromptBar) -> int:
    return bar.prompt.textCursor().blockNumber()


def test_up_and_down_walk_earlier_prompts_from_an_empty_prompt(qtbot) -> None:
    bar = shown_prompt_bar(qtbot)
    bar.history.set_entries(["newest", "first line\nsecond line", "oldest"])
    bar.prompt.setFocus()
    qtbot.keyClick(bar.prompt, UP)
    assert bar.text() == "newest"
    qtbot.keyClick(bar.prompt, UP)
    # A prompt of several lines: the cursor lands on its first line, so Up walks on.
    assert bar.text() == "first line\nsecond line" and cursor_line(bar) == 0
    qtbot.keyClick(bar.prompt, UP)
    assert bar.text() == "oldest"
    qtbot.keyClick(bar.prompt, UP)
    assert bar.text() == "oldest"  # nothing older
    qtbot.keyClick(bar.prompt, DOWN)
    assert bar.text() == "first line\nsecond line" and cursor_line(bar) == 1
    # Up from the last line moves the cursor within the prompt; the text stays.
    qtbot.keyClick(bar.prompt, UP)
    assert bar.text() == "first line\nsecond line" and cursor_line(bar) == 0
    qtbot.keyClick(bar.prompt, DOWN)  # to the last line: still the same prompt
    assert bar.text() == "first line\nsecond line" and cursor_line(bar) == 1
    qtbot.keyClick(bar.prompt, DOWN)
    assert bar.text() == "newest"
    qtbot.keyClick(bar.prompt, DOWN)
    assert bar.text() == ""  # past the newest: empty again
    qtbot.keyClick(bar.prompt, DOWN)
    assert bar.text() == ""


def test_typing_stops_the_walk_and_a_written_prompt_is_never_replaced(qtbot) -> None:
    bar = shown_prompt_bar(qtbot)
    bar.history.set_entries(["a red fox", "a blue whale"])
    bar.prompt.setFocus()
    qtbot.keyClick(bar.prompt, UP)
    qtbot.keyClicks(bar.prompt, " at night")
    assert bar.text() == "a red fox at night"
    qtbot.keyClick(bar.prompt, UP)
    qtbot.keyClick(bar.prompt, DOWN)
    assert bar.text() == "a red fox at night"  # the edit is the user's now
    bar.prompt.clear()
    qtbot.keyClick(bar.prompt, UP)
    assert bar.text() == "a red fox"  # an empty prompt starts a new walk
    # Shift+Up selects text as usual, never walks.
    bar.prompt.clear()
    qtbot.keyClick(bar.prompt, UP, Qt.KeyboardModifier.ShiftModifier)
    assert bar.text() == ""


def test_history_menu_searches_as_you_type_and_fills_the_prompt(qtbot) -> None:
    bar = shown_prompt_bar(qtbot)
    bar.history.set_entries(["a red fox in snow", "a blue whale", "Fox cub, red, sleeping"])
    menu = bar.history.menu
    with qtbot.waitActive(bar):  # shortcuts go to the active window
        bar.activateWindow()
    bar.prompt.setFocus()
    qtbot.keyClick(bar.prompt, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(menu.isVisible)
    assert menu.visible_prompts() == [
        "a red fox in snow",
        "a blue whale",
        "Fox cub, red, sleeping",
    ]
    qtbot.keyClicks(menu.search, "red FOX")  # every word, any order, any case
    assert menu.visible_prompts() == ["a red fox in snow", "Fox cub, red, sleeping"]
    qtbot.keyClick(menu.search, DOWN)  # the list's highlight moves; typing stays possible
    qtbot.keyClick(menu.search, Qt.Key.Key_Return)
    assert not menu.isVisible()
    assert bar.text() == "Fox cub, red, sleeping"

    bar.history.button.click()  # the button opens it too, the search cleared
    qtbot.waitUntil(menu.isVisible)
    assert len(menu.visible_prompts()) == 3
    qtbot.keyClicks(menu.search, "zebra")
    assert menu.visible_prompts() == []
    assert menu.empty.isVisible() and menu.empty.text() == NO_MATCH_TEXT
    menu.close()

    # A prompt of several lines is listed on one line and comes back whole.
    bar.history.set_entries(["line one\n\nline two"])
    bar.history.open_menu()
    assert menu.filter.index(0, 0).data() == "line one ⏎ line two"
    qtbot.keyClick(menu.search, Qt.Key.Key_Return)
    assert bar.text() == "line one\n\nline two"


def test_window_history_comes_from_the_engine_and_the_last_viewed_session_reopens(
    run_qasync, tmp_path: Path
) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path)
        try:
            model = window.generations
            type_and_generate(window, "a red fox", RequestState(model="img-reve"))
            await until(lambda: model.rowCount() == 1 and model.items()[0].status == "done")
            fox_session = controller.current_session
            window.sidebar.new_button.click()
            type_and_generate(window, "a blue whale", RequestState(model="img-reve"))
            await until(lambda: model.rowCount() == 1 and model.items()[0].status == "done")
            await until(lambda: len(window.sidebar.session_ids()) == 2)
            whale_session = controller.current_session
            assert fox_session and whale_session and fox_session != whale_session
            # Submitted this run: Up in the emptied prompt brings the latest back.
            bar = window.prompt_bar
            bar.prompt.clear()
            bar.prompt.setFocus()
            QTest.keyClick(bar.prompt, UP)
            assert bar.text() == "a blue whale"
            # The user goes back to the fox's session, which is not the latest updated.
            controller.switch_session(fox_session)
            await until(lambda: [i.prompt for i in model.items()] == ["a red fox"])
        finally:
            window.close()
            await session.close()

        session, window, controller = await open_window(tmp_path)
        try:
            assert controller.current_session == fox_session  # not the latest (the whale's)
            bar = window.prompt_bar
            # Loaded from the backend across both sessions, newest first.
            await until(lambda: bar.history.menu.visible_prompts() == ["a blue whale", "a red fox"])
            bar.history.open_menu()
            bar.history.menu.search.setText("fox")
            bar.history.menu.choose_current()
            assert bar.text() == "a red fox"
            # A remembered session that has gone since: the latest opens instead.
            session.settings.remember_session("a-session-deleted-since")
        finally:
            window.close()
            await session.close()

        session, window, controller = await open_window(tmp_path)
        try:
            assert controller.current_session == whale_session
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
