"""Issue 14 item 5: the window fits the screen at first start and keeps its geometry.

The offscreen platform's screen is 800x800, smaller than the old fixed 1320x860 window, so
a window that ignores the screen is caught here as it was on a 1280x1024 monitor.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect, QSettings, QSize
from PySide6.QtGui import QGuiApplication

from gui.widgets import window_geometry
from gui.widgets.main_window import MainWindow


def _store(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)


def _available() -> QRect:
    return QGuiApplication.primaryScreen().availableGeometry()


def test_first_start_fits_the_available_screen(qtbot, tmp_path: Path) -> None:
    for window in (MainWindow(), MainWindow(geometry_store=_store(tmp_path))):
        qtbot.addWidget(window)
        window.show()
        assert _available().contains(window.frameGeometry()), window.frameGeometry()
        assert window.minimumSize().width() <= _available().width()
        assert window.minimumSize().height() <= _available().height()


def test_geometry_is_remembered_across_runs(qtbot, tmp_path: Path) -> None:
    first = MainWindow(geometry_store=_store(tmp_path))
    qtbot.addWidget(first)
    first.show()
    chosen = QRect(6, 40, 786, 700)  # the frame stays on the 800x800 screen
    first.setGeometry(chosen)
    assert first.geometry() == chosen
    first.close()  # saved on close

    second = MainWindow(geometry_store=_store(tmp_path))
    qtbot.addWidget(second)
    second.show()
    assert second.geometry() == chosen


def test_a_stored_geometry_too_big_or_off_screen_is_clamped(qtbot, tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.setValue("window/geometry", QRect(3000, 2500, 2560, 1440))
    store.sync()
    window = MainWindow(geometry_store=store)
    qtbot.addWidget(window)
    window.show()
    assert _available().contains(window.frameGeometry()), window.frameGeometry()
    assert window.width() >= window.minimumWidth()


def test_first_size_and_clamp_on_a_1280x1024_screen() -> None:
    available = QRect(0, 0, 1280, 994)  # a 1280x1024 screen less a panel
    size = window_geometry.first_size(available)
    assert size.width() <= 1280 and size.height() <= 994
    assert size.expandedTo(QSize(900, 600)) == size  # never below the minimum
    old_fixed = QRect(100, 80, 1320, 860)
    clamped = window_geometry.clamp(old_fixed, available)
    assert available.contains(clamped) and clamped.size() == QSize(1280, 860)
    assert size.height() <= 994 - window_geometry.FRAME_ALLOWANCE.height()
    large = QRect(0, 0, 2560, 1400)
    assert window_geometry.first_size(large).width() > 1320  # grows on a big screen
    tiny = QRect(0, 0, 800, 500)
    assert available.contains(window_geometry.clamp(QRect(-50, -50, 900, 600), tiny))
    assert window_geometry.minimum_for(tiny) == QSize(784, 452)


def test_dialogs_fit_a_small_screen(qtbot) -> None:
    """The model sheet (1040x640) and the library (720x640) shrink to a screen smaller than
    they would like (the offscreen screen is 800x800): their buttons stay reachable."""
    from gui.widgets.library_view import LibraryDialog
    from gui.widgets.model_sheet import ModelSheet
    from gui.widgets.thumbnail_cache import ThumbnailCache

    room = QGuiApplication.primaryScreen().availableGeometry().size()
    room -= window_geometry.FRAME_ALLOWANCE
    assert room.width() < 1040  # the case under test: a screen narrower than the sheet
    for dialog in (ModelSheet(), LibraryDialog(ThumbnailCache())):
        qtbot.addWidget(dialog)
        assert dialog.width() <= room.width() and dialog.height() <= room.height()
    assert window_geometry.dialog_size(ModelSheet(), QSize(300, 200)) == QSize(300, 200)
