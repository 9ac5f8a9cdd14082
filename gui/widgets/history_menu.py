"""The history menu: earlier prompts, searched as you type, one chosen into the prompt bar.

A popup under the prompt bar's history button (or Ctrl+H): a search field over a list of
the prompts the controller handed over (newest first). Every word typed must appear in a
prompt for it to stay listed; Enter or a click puts the highlighted prompt in the bar.
The list is a `QStringListModel` behind a `QSortFilterProxyModel`, so filtering is local:
no round trip per keystroke.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSortFilterProxyModel,
    QStringListModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QListView,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.engine.prompt_history import matches
from gui.widgets import theme

EMPTY_TEXT = "No earlier prompts yet: the prompts you generate with appear here."
NO_MATCH_TEXT = "No earlier prompt contains these words."


class PromptFilter(QSortFilterProxyModel):
    """Keeps the prompts that hold every word of the query (any case, any order)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.query = ""

    def set_query(self, query: str) -> None:
        self.beginFilterChange()
        self.query = query
        self.endFilterChange()

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        source = self.sourceModel()
        text = source.data(source.index(source_row, 0, source_parent))
        return matches(str(text or ""), self.query)

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> object:
        """One line per prompt (a prompt of several lines shows them joined by ⏎, and
        whole in its tooltip); EditRole is the prompt itself."""
        text = super().data(index, Qt.ItemDataRole.EditRole)
        if role == Qt.ItemDataRole.DisplayRole and isinstance(text, str):
            return " ⏎ ".join(line for line in text.splitlines() if line.strip())
        if role == Qt.ItemDataRole.ToolTipRole:
            return text
        return super().data(index, role)


class HistoryMenu(QFrame):
    promptChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("PickerPopup")  # the model picker's popup look (theme.py)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search earlier prompts…")
        self.search.setClearButtonEnabled(True)
        self.prompts = QStringListModel(self)
        self.filter = PromptFilter(self)
        self.filter.setSourceModel(self.prompts)
        self.list = QListView()
        self.list.setModel(self.filter)
        self.list.setUniformItemSizes(True)  # one line each: 500 rows lay out at once
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing stays in the search field
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setObjectName("Muted")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # The list and the "nothing" sentence share one slot: the popup keeps its size.
        self.body = QStackedWidget()
        self.body.addWidget(self.list)
        self.body.addWidget(self.empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)
        layout.addWidget(self.search)
        layout.addWidget(self.body)
        self.resize(560, 320)
        self.search.textChanged.connect(self._on_query)
        self.search.installEventFilter(self)  # Up/Down/Enter in the field drive the list
        self.list.activated.connect(self._choose)
        self.list.clicked.connect(self._choose)

    def set_prompts(self, prompts: Sequence[str]) -> None:
        """The prompts listed, newest first."""
        self.prompts.setStringList(list(prompts))
        self._after_filter()

    def visible_prompts(self) -> list[str]:
        """What the list shows now, top to bottom."""
        edit = Qt.ItemDataRole.EditRole
        return [str(self.filter.index(r, 0).data(edit)) for r in range(self.filter.rowCount())]

    def open_at(self, anchor: QWidget) -> None:
        """Pop up over ``anchor`` (the prompt bar's text field), the search field empty."""
        self.search.clear()
        self._after_filter()
        t = theme.current()  # read on each opening: follows a theme switch
        self.list.setStyleSheet(
            "QListView::item { padding: 7px 8px; border-radius: 8px; }"
            f"QListView::item:selected {{ background: {t.rgba('accent', 70)}; color: {t.text}; }}"
        )
        width = max(anchor.width(), 420)
        self.resize(width, self.height())
        top_left = anchor.mapToGlobal(QPoint(0, 0))
        # Above the prompt: the bar sits at the bottom of the window.
        self.move(top_left.x(), max(0, top_left.y() - self.height() - 6))
        self.show()
        self.search.setFocus()

    def choose_current(self) -> None:
        index = self.list.currentIndex()
        if index.isValid():
            self._choose(index)

    def _on_query(self, query: str) -> None:
        self.filter.set_query(query)
        self._after_filter()

    def _after_filter(self) -> None:
        """The first match highlighted, or a sentence saying why the list is empty."""
        has_rows = self.filter.rowCount() > 0
        if has_rows:
            self.list.setCurrentIndex(self.filter.index(0, 0))
        self.empty.setText(EMPTY_TEXT if self.prompts.rowCount() == 0 else NO_MATCH_TEXT)
        self.body.setCurrentWidget(self.list if has_rows else self.empty)

    def _choose(self, index: QModelIndex) -> None:
        text = index.data(Qt.ItemDataRole.EditRole)
        if text:
            self.promptChosen.emit(str(text))
            self.close()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.choose_current()
                return True
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
                # The list moves its highlight while the keyboard stays in the search field.
                self.list.keyPressEvent(event)
                return True
        return False
