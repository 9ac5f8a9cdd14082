"""The searchable model picker popup: logos, badges, price, full keyboard navigation.

Typing goes to the search field (it keeps focus); Up/Down/PageUp/PageDown move through the
list, Enter chooses, Esc closes. "Show all models" reveals the models the web picker hides.
Search ranks the exact name first (`model_search`), and the row it puts on top is current.

The popup has one fixed size per opening, fitted to the available geometry of the screen it
opens on: searching (even with no results) never resizes it, and "Show all models" is always
on screen.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QGuiApplication, QKeyEvent, QPainter, QScreen
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QLabel,
    QLineEdit,
    QListView,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from catalog import picker_models
from catalog.pricing import price_table
from catalog.spec import ModelSpec
from gui.widgets import icons, theme
from gui.widgets.model_search import match_rank, rank_models

ModelRole = Qt.ItemDataRole.UserRole + 1
_ROW_H = 66
# The list is exactly a whole number of rows tall (this many, fewer on a short screen), so a
# scroll position on a row boundary never leaves half a row under the search field.
_VISIBLE_ROWS = 6
_WIDTH = 560
_GAP = 8  # between the popup and the control it opens from
_MIN_ROWS = 3  # fewer rows than this beside the control: the popup may cover it instead
_NAV_KEYS = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown}


def price_label(model: ModelSpec) -> str:
    prices = sorted({row.cost_per_image for row in price_table(model.id)})
    if len(prices) == 1:
        return f"{prices[0]} cr / image"
    return f"{prices[0]}–{prices[-1]} cr / image"


def badges(model: ModelSpec) -> list[str]:
    out = []
    if model.is_new:
        out.append("New")
    if model.is_edit:
        out.append("Edit")
    if model.resolutions:
        out.append(" · ".join(model.resolutions))
    if model.qualities:
        out.append(" / ".join(q.capitalize() for q in model.qualities))
    if not model.in_picker:
        out.append("Hidden")
    return out


class ModelListModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._query = ""
        self._show_all = False
        self._rows: list[ModelSpec] = picker_models()

    def set_filter(self, query: str, show_all: bool) -> None:
        self.beginResetModel()
        self._query, self._show_all = query, show_all
        self._rows = rank_models(picker_models(show_all=show_all), query)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        if not index.isValid():
            return None
        model = self._rows[index.row()]
        if role == ModelRole:
            return model
        if role == Qt.ItemDataRole.DisplayRole:
            return model.label
        return None

    def model_ids(self) -> list[str]:
        return [m.id for m in self._rows]

    def current_row_for(self, selected: str) -> int:
        """The row to make current: the selected model while it ranks as well as the top
        row (so browsing keeps it), else the top row, which Enter then picks."""
        ids = self.model_ids()
        if selected not in ids:
            return 0
        row = ids.index(selected)
        top_rank = match_rank(self._rows[0], self._query)
        return row if match_rank(self._rows[row], self._query) == top_rank else 0


class ModelRowDelegate(QStyledItemDelegate):
    def __init__(self, picker: ModelPicker) -> None:
        super().__init__(picker)
        self._picker = picker

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(0, _ROW_H)  # as wide as the viewport (ListMode stretches rows)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        t = theme.current()
        model: ModelSpec = index.data(ModelRole)
        rect = option.rect.adjusted(6, 2, -6, -2)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        current = bool(option.state & QStyle.StateFlag.State_Selected)
        chosen = model.id == self._picker.selected_model
        if current or chosen:
            painter.setPen(t.c("accent") if chosen else Qt.PenStyle.NoPen)
            painter.setBrush(t.c("accent", 40) if current else t.c("surface2"))
            painter.drawRoundedRect(rect, 10, 10)
        painter.drawPixmap(
            rect.left() + 10, rect.top() + 14, icons.logo_pixmap(model.logo, model.company, 32)
        )
        x = rect.left() + 54
        title = QFont(option.font)
        title.setBold(True)
        title.setPixelSize(14)
        painter.setFont(title)
        painter.setPen(t.c("text"))
        painter.drawText(QPoint(x, rect.top() + 24), model.label)
        bx = x + painter.fontMetrics().horizontalAdvance(model.label) + 8
        small = QFont(option.font)
        small.setPixelSize(10)
        small.setBold(True)
        painter.setFont(small)
        for badge in badges(model):
            w = painter.fontMetrics().horizontalAdvance(badge) + 12
            brect = QRect(bx, rect.top() + 11, w, 17)
            accent = badge == "New"
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(t.c("accent") if accent else t.c("border"))
            painter.drawRoundedRect(brect, 8, 8)
            painter.setPen(t.c("accent_text") if accent else t.c("text"))
            painter.drawText(brect, Qt.AlignmentFlag.AlignCenter, badge)
            bx += w + 5
        price = price_label(model)
        body = QFont(option.font)
        body.setPixelSize(12)
        painter.setFont(body)
        pw = painter.fontMetrics().horizontalAdvance(price)
        painter.setPen(t.c("muted"))
        painter.drawText(QPoint(rect.right() - pw - 12, rect.top() + 24), price)
        desc = f"{model.company} · {model.description}"
        avail = rect.right() - x - (34 if chosen else 12)  # room for the tick
        desc = painter.fontMetrics().elidedText(desc, Qt.TextElideMode.ElideRight, avail)
        painter.drawText(QPoint(x, rect.top() + 46), desc)
        if chosen:
            painter.setPen(t.c("accent"))
            painter.drawText(QPoint(rect.right() - 22, rect.top() + 47), "✓")
        painter.restore()


class ModelPicker(QFrame):
    """Popup listing models; emits `modelChosen(model_id)` and closes."""

    modelChosen = Signal(str)
    # Right-click a row, or Ctrl+I on the current one: that model's sheet (model_sheet.py).
    detailsRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("PickerPopup")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.selected_model = ""
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search models, companies, features…")
        self.search.setClearButtonEnabled(True)
        self.list_model = ModelListModel(self)
        self.view = QListView()
        self.view.setModel(self.list_model)
        self.view.setItemDelegate(ModelRowDelegate(self))
        self.view.setUniformItemSizes(True)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)  # rows follow the width
        self.view.setMouseTracking(True)
        self.view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setFrameShape(QFrame.Shape.NoFrame)
        self.show_all = QCheckBox("Show all models")
        self.show_all.setToolTip("Include models the web picker hides")
        self.empty = QLabel("No model matches your search.")
        self.empty.setObjectName("Muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # The list and the "no match" message share one slot of one height: showing either
        # never changes the popup's size.
        self.body = QStackedWidget()
        self.body.addWidget(self.view)
        self.body.addWidget(self.empty)
        self._layout = layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)
        layout.addWidget(self.search)
        layout.addWidget(self.body)
        layout.addWidget(self.show_all)
        self._visible_rows = _VISIBLE_ROWS
        self._set_visible_rows(_VISIBLE_ROWS, _WIDTH)
        self.search.textChanged.connect(self._refilter)
        self.show_all.toggled.connect(self._refilter)
        self.view.clicked.connect(self._choose_index)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(
            lambda pos: self._details_for(self.view.indexAt(pos))
        )
        self.search.installEventFilter(self)

    def open_for(self, selected: str, anchor: QWidget | None = None) -> None:
        self.selected_model = selected
        self.search.clear()
        hidden_selected = selected not in self.list_model.model_ids()
        self.show_all.setChecked(self.show_all.isChecked() or hidden_selected)
        self._refilter()
        self._place(anchor)
        self.show()
        self._reveal(center=True)  # the view has its real size only once shown
        self.search.setFocus()

    def current_model_id(self) -> str | None:
        index = self.view.currentIndex()
        return index.data(ModelRole).id if index.isValid() else None

    def visible_model_ids(self) -> list[str]:
        return self.list_model.model_ids()

    @property
    def visible_rows(self) -> int:
        return self._visible_rows

    def _screen_for(self, anchor: QWidget | None) -> QScreen:
        if anchor is not None:
            centre = anchor.mapToGlobal(anchor.rect().center())
            screen = QGuiApplication.screenAt(centre) or anchor.screen()
        else:
            screen = QGuiApplication.screenAt(self.geometry().center()) or self.screen()
        return screen or QGuiApplication.primaryScreen()

    def _set_visible_rows(self, rows: int, width: int) -> None:
        self._visible_rows = rows
        self.body.setFixedHeight(rows * _ROW_H)
        self.ensurePolished()  # the theme's paddings count in the search field's height
        self._layout.invalidate()
        self.setFixedSize(width, self._layout.sizeHint().height())

    def _place(self, anchor: QWidget | None) -> None:
        """Fit the popup to the available geometry of its screen and put it above the anchor,
        else below it; on a screen too short for either (at least `_MIN_ROWS` rows), over
        it. Never past the screen's edges."""
        avail = self._screen_for(anchor).availableGeometry()
        chrome = self.height() - self._visible_rows * _ROW_H  # search, checkbox, margins

        def rows_in(room: int) -> int:
            return min(_VISIBLE_ROWS, (room - chrome) // _ROW_H)

        rows = max(1, rows_in(avail.height()))
        chip = QRect(anchor.mapToGlobal(QPoint(0, 0)), anchor.size()) if anchor else None
        if chip is not None:
            above = chip.top() - _GAP - avail.top()
            below = avail.bottom() - chip.bottom() - _GAP
            if rows_in(max(above, below)) >= min(rows, _MIN_ROWS):
                rows = rows_in(max(above, below))
        self._set_visible_rows(rows, min(_WIDTH, avail.width()))
        width, height = self.width(), self.height()
        if chip is not None:
            x, y = chip.left(), chip.top() - _GAP - height
            if y < avail.top():
                y = chip.bottom() + 1 + _GAP
        else:
            x, y = self.x(), self.y()
        x = max(avail.left(), min(x, avail.left() + avail.width() - width))
        y = max(avail.top(), min(y, avail.top() + avail.height() - height))
        self.move(x, y)

    def _refilter(self) -> None:
        self.list_model.set_filter(self.search.text(), self.show_all.isChecked())
        ids = self.list_model.model_ids()
        if ids:
            self.view.setCurrentIndex(
                self.list_model.index(self.list_model.current_row_for(self.selected_model))
            )
            self._reveal(center=True)
        self.body.setCurrentWidget(self.view if ids else self.empty)

    def _details_for(self, index: QModelIndex) -> None:
        if index.isValid():
            self.hide()
            self.detailsRequested.emit(index.data(ModelRole).id)

    def _choose_index(self, index: QModelIndex) -> None:
        if index.isValid():
            model_id = index.data(ModelRole).id
            self.selected_model = model_id
            self.hide()
            self.modelChosen.emit(model_id)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            return self._handle_key(event)
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self._handle_key(event):
            super().keyPressEvent(event)

    def _handle_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key in _NAV_KEYS:
            self._move(key)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._choose_index(self.view.currentIndex())
            return True
        if key == Qt.Key.Key_Escape:
            self.hide()
            return True
        if key == Qt.Key.Key_I and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self._details_for(self.view.currentIndex())
            return True
        return False

    def _move(self, key: Qt.Key) -> None:
        count = self.list_model.rowCount()
        if not count:
            return
        row = self.view.currentIndex().row()
        page = self._visible_rows
        step = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -page}.get(key, page)
        row = max(0, min(count - 1, (row if row >= 0 else 0) + step))
        self.view.setCurrentIndex(self.list_model.index(row))
        self._reveal(center=False)

    def _reveal(self, center: bool) -> None:
        """Scroll so the current row is fully visible (centred when the popup opens), with
        the list's top on a row boundary: no row is ever cut off under the search field."""
        row = self.view.currentIndex().row()
        if row < 0:
            return
        bar = self.view.verticalScrollBar()
        top = bar.value() // _ROW_H
        rows = self._visible_rows
        if center:
            top = row - (rows - 1) // 2
        elif row < top:
            top = row
        elif row >= top + rows:
            top = row - rows + 1
        bar.setValue(max(0, min(top * _ROW_H, bar.maximum())))
