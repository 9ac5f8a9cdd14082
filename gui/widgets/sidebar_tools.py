"""What the sessions sidebar adds for the library: a filter that hides rows as you type,
and Rename / Delete on each row (context menu, F2, Delete). It only emits signals; the
controller's `LibraryActions` acts on them.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QLineEdit, QListWidget, QMenu


def title_matches(title: str, text: str) -> bool:
    """Every word typed occurs in the title, ignoring case."""
    lowered = title.lower()
    return all(word in lowered for word in text.lower().split())


class SidebarTools(QObject):
    renameRequested = Signal(str)  # session id
    deleteRequested = Signal(str)

    def __init__(self, sessions: QListWidget, id_of_row: Callable[[int], str]) -> None:
        super().__init__(sessions)
        self.sessions = sessions
        self.id_of_row = id_of_row
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter sessions")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.apply_filter)
        sessions.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        sessions.customContextMenuRequested.connect(self._menu)
        self.menu: QMenu | None = None  # the last one shown (tests pick its actions)
        for key, signal in (("F2", self.renameRequested), ("Delete", self.deleteRequested)):
            shortcut = QShortcut(QKeySequence(key), sessions)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda s=signal: self._on_current(s))

    def apply_filter(self) -> None:
        """Hide the rows whose title does not match; called again after every reload."""
        text = self.filter.text()
        for row in range(self.sessions.count()):
            item = self.sessions.item(row)
            item.setHidden(not title_matches(item.text(), text))

    def visible_ids(self) -> list[str]:
        return [
            self.id_of_row(row)
            for row in range(self.sessions.count())
            if not self.sessions.item(row).isHidden()
        ]

    def _on_current(self, signal: Signal) -> None:
        row = self.sessions.currentRow()
        if row >= 0:
            signal.emit(self.id_of_row(row))  # type: ignore[attr-defined]

    def _menu(self, at: QPoint) -> None:
        item = self.sessions.itemAt(at)
        if item is None:
            return
        session_id = self.id_of_row(self.sessions.row(item))
        self.menu = QMenu(self.sessions)
        rename = QAction("Rename…", self.menu)
        rename.triggered.connect(lambda: self.renameRequested.emit(session_id))
        delete = QAction("Delete…", self.menu)
        delete.triggered.connect(lambda: self.deleteRequested.emit(session_id))
        self.menu.addActions([rename, delete])
        self.menu.popup(self.sessions.viewport().mapToGlobal(at))
