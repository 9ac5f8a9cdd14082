"""The main window's layout: sidebar | header, banner, feed, prompt bar; toasts on top.

It only arranges widgets. `controller.WindowController` binds them to an EngineSession;
without one (screenshots, widget tests) the window still works on local state.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QVBoxLayout, QWidget

from gui.widgets.generation_model import GenerationListModel
from gui.widgets.grid_view import GenerationGridView
from gui.widgets.header import Header, OfflineBanner
from gui.widgets.prompt_bar import PromptBar
from gui.widgets.sessions_sidebar import SessionsSidebar
from gui.widgets.thumbnail_cache import ThumbnailCache
from gui.widgets.toasts import ToastHost


class MainWindow(QMainWindow):
    def __init__(self, thumb_dir: Path | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Imagegen")
        self.resize(1320, 860)
        self.setMinimumSize(900, 600)
        self.cache = ThumbnailCache(thumb_dir, parent=self)
        self.generations = GenerationListModel(self)
        self.sidebar = SessionsSidebar(self.cache)
        self.header = Header()
        self.banner = OfflineBanner()
        self.grid = GenerationGridView(self.generations, self.cache)
        self.prompt_bar = PromptBar()
        self.prompt_bar.strip.thumb_for_url = self.cache.peek
        self.on_close: list = []  # callbacks run when the window closes

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

    def closeEvent(self, event: QCloseEvent) -> None:
        self.clock.stop()
        for callback in self.on_close:
            callback()
        self.cache.shutdown()  # no thumbnail decoder may outlive the window
        super().closeEvent(event)
