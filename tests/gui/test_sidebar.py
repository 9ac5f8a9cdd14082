"""The sessions sidebar: titles, previews, relative times that keep moving, switching."""

from __future__ import annotations

from gui.engine.convex_types import SessionSummary
from gui.widgets.formatting import relative_time
from gui.widgets.main_window import MainWindow
from gui.widgets.sessions_sidebar import session_fields


def _session(sid: str, title: str, updated_ms: float, preview: str | None = None) -> SessionSummary:
    """A session as the engine's gateway reads it from a Convex document."""
    doc = {"_id": sid, "title": title, "updatedAt": updated_ms, "preview": preview}
    return SessionSummary.model_validate(doc)


def test_relative_times() -> None:
    now = 1_000_000.0
    assert relative_time(now - 10, now) == "just now"
    assert relative_time(now - 125, now) == "2 min ago"
    assert relative_time(now - 3 * 3600, now) == "3 h ago"
    assert relative_time(now - 30 * 3600, now) == "yesterday"
    assert relative_time(now - 4 * 86400, now) == "4 days ago"


def test_fields_of_a_convex_session_document() -> None:
    # Convex's milliseconds are seconds on the record (convex_types): the row never guesses.
    sid, title, preview, when = session_fields(_session("s1", "", 1_700_000_000_000, "http://p"))
    assert (sid, title, preview, when) == ("s1", "Untitled session", "http://p", 1_700_000_000)


def test_switching_and_new_session_and_a_clock_that_repaints(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    sidebar = window.sidebar
    sidebar.set_sessions([_session("a", "Foxes", 2e12), _session("b", "Whales", 1e12)], "a")
    assert sidebar.session_ids() == ["a", "b"] and sidebar.list.currentRow() == 0
    assert not sidebar.placeholder.isVisibleTo(sidebar)
    with qtbot.waitSignal(sidebar.sessionSelected) as chosen:
        sidebar.list.setCurrentRow(1)
    assert chosen.args == ["b"]
    with qtbot.waitSignal(sidebar.newSessionRequested):
        sidebar.new_button.click()
    # Relative times are repainted on a clock, not only when something else changes.
    assert window.clock.isActive() and window.clock.interval() <= 60_000
    window.close()
    assert not window.clock.isActive()  # a closed window keeps no timer running
