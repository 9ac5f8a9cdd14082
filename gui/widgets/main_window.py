"""The main window's layout: sidebar | header, banner, feed, prompt bar; toasts on top.

It only arranges widgets. `controller.WindowController` binds them to an EngineSession;
without one (screenshots, widget tests) the window still works on local state.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QVBoxLayout, QWidget

from gui.widgets import window_geometry
from gui.widgets.focus_ring import FocusRing
from gui.widgets.generation_delegate import MARGIN as CARD_MARGIN
from gui.widgets.generation_model import GenerationListModel
from gui.widgets.grid_view import GenerationGridView
from gui.widgets.header import Header, OfflineBanner
from gui.widgets.prompt_bar import PromptBar
from gui.widgets.sessions_sidebar import SessionsSidebar
from gui.widgets.thumbnail_cache import ThumbnailCache
from gui.widgets.toasts import ToastHost


class MainWindow(QMainWindow):
    def __init__(
        self, thumb_dir: Path | None = None, geometry_store: QSettings | None = None
    ) -> None:
        """``geometry_store``: where the window's geometry is remembered across runs (the
        app passes its QSettings; without one the window just fits the screen)."""
        super().__init__()
        self.setWindowTitle("Imagegen")
        self._geometry_store = geometry_store
        if geometry_store is not None:
            window_geometry.restore(self, geometry_store)  # clamped to today's screen
        else:
            window_geometry.fit_to_screen(self)
        self.cache = ThumbnailCache(thumb_dir, parent=self)
        self.generations = GenerationListModel(self)
        self.sidebar = SessionsSidebar(self.cache)
        self.header = Header()
        self.banner = OfflineBanner()
        self.grid = GenerationGridView(self.generations, self.cache)
        self.prompt_bar = PromptBar()
        self.prompt_bar.strip.thumb_for_url = self.cache.peek
        self.on_close: list = []  # callbacks run when the window closes
        # The sessions list paints its rows by hand: the ring shows its keyboard focus.
        self.sidebar_focus = FocusRing(self.sidebar.list, inset=(8, 3, -8, -3))
        # So do the grid's cards (the ring follows the card's own rounded rectangle).
        self.grid_focus = FocusRing(self.grid, inset=(CARD_MARGIN,) * 2 + (-CARD_MARGIN,) * 2)

        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.header)
        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(20, 4, 20, 4)
        banner_row.addWidget(self.banner)
        column.addLayout(banner_row)
        feed_row = QHBoxLayout()
        feed_row.setContentsMargins(12, 0, 12, 0)
        feed_row.addWidget(self.grid)
        column.addLayout(feed_row, 1)
        bar_row = QHBoxLayout()
        bar_row.setContentsMargins(20, 8, 20, 18)
        bar_row.addWidget(self.prompt_bar)
        column.addLayout(bar_row)

        root = QWidget()
        layout = QHBoxLayout(root)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.sidebar)
        layout.addWidget(content, 1)
        self.setCentralWidget(root)
        self.toasts = ToastHost(root)
        self.prompt_bar.notice.connect(self.toasts.show_toast)
        # "just now" must become "2 min ago" without anything else happening.
        self.clock = QTimer(self)
        self.clock.setInterval(30_000)
        self.clock.timeout.connect(self._repaint_times)
        self.clock.start()
        QShortcut(QKeySequence("Ctrl+N"), self, self.sidebar.newSessionRequested.emit)
        self.prompt_bar.prompt.setFocus(Qt.FocusReason.OtherFocusReason)

    def _repaint_times(self) -> None:
        self.sidebar.list.viewport().update()
        self.grid.viewport().update()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not event.spontaneous():
            window_geometry.keep_on_screen(self)  # the frame, known now, fits the screen

    def closeEvent(self, event: QCloseEvent) -> None:
        self.clock.stop()
        if self._geometry_store is not None:
            window_geometry.save(self, self._geometry_store)
        for callback in self.on_close:
            callback()
        self.cache.shutdown()  # no thumbnail decoder may outlive the window
        super().closeEvent(event)
