"""The Library: every generation of every session, searched as you type, and favourites.

The search runs over the engine's local `LibraryIndex` (handed in by the controller once it
is read): each keystroke filters in memory, never a round trip. Activating a row asks to
open its session (`openRequested`); the window's controller does that.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.engine.library_index import LibraryEntry, LibraryIndex
from gui.widgets import window_geometry
from gui.widgets.library_model import ENTRY_ROLE, LibraryDelegate, LibraryListModel
from gui.widgets.thumbnail_cache import ThumbnailCache


class LibraryDialog(QDialog):
    openRequested = Signal(str, str)  # session id, generation id

    def __init__(self, cache: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Library")
        self.setObjectName("LibraryDialog")
        self.resize(window_geometry.dialog_size(self, QSize(720, 640)))
        self.index = LibraryIndex()
        self.loaded = False
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search prompts, models, sessions and dates")
        self.search.setClearButtonEnabled(True)
        self.all_button = QPushButton("All")
        self.favorites_button = QPushButton("Favourites")
        self.scope = QButtonGroup(self)
        for button in (self.all_button, self.favorites_button):
            button.setCheckable(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.scope.addButton(button)
        self.all_button.setChecked(True)
        self.count = QLabel("Loading your library…")
        self.count.setObjectName("Muted")
        self.model = LibraryListModel(self)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setItemDelegate(LibraryDelegate(self.model, cache, self.list))
        self.list.setUniformItemSizes(True)  # 10,000 rows lay out without measuring each
        self.list.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.all_button)
        top.addWidget(self.favorites_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.count)
        layout.addWidget(self.list, 1)
        self.search.textChanged.connect(self.apply)
        self.scope.buttonToggled.connect(lambda _b, on: on and self.apply())
        self.list.activated.connect(self._open)
        cache.thumbnailReady.connect(lambda _url: self.list.viewport().update())
        self.search.setFocus()

    @property
    def favorites_only(self) -> bool:
        return self.favorites_button.isChecked()

    def set_index(self, index: LibraryIndex) -> None:
        self.index = index
        self.loaded = True
        self.apply()

    def apply(self) -> None:
        """Filter the index by the search text and the scope (in memory)."""
        found = self.index.search(self.search.text(), self.favorites_only)
        self.model.set_entries(found, self.favorites_only)
        if not self.loaded:
            return
        self.count.setText(self._count_text(len(found)))

    def _count_text(self, shown: int) -> str:
        if not len(self.index):
            return "Nothing here yet: your generations will be listed here."
        if self.favorites_only and not shown and not self.search.text().strip():
            return "No favourites yet: mark an image with its heart to keep it here."
        if not shown:
            return "Nothing matches. Try fewer or other words."
        noun = "favourite" if self.favorites_only else "generation"
        return f"{shown:,} {noun}{'' if shown == 1 else 's'} of {len(self.index):,}"

    def visible_entries(self) -> list[LibraryEntry]:
        return list(self.model.entries)

    def _open(self, index: QModelIndex) -> None:
        entry: LibraryEntry = index.data(ENTRY_ROLE)
        session_id = entry.generation.session_id
        if session_id:
            self.openRequested.emit(session_id, entry.generation.id)
