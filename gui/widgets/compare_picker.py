"""The prompt bar's "Compare" chip: choose 2–4 models to send one prompt to at once.

The chip opens a popup with the model picker's search (`model_search.rank_models`, exact
name first) over a list of check boxes. With two or more models ticked the prompt bar is in
compare mode: its cost is the sum of each model's own cost, and a model that cannot take
the request is named under the prompt with the reason (`gui.engine.compare_plan`), left
out while the others go. It never talks to the engine: the controller submits the plan.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from catalog import MODELS, Options, picker_models
from gui.engine.compare_plan import (
    MAX_COMPARE_MODELS,
    MIN_COMPARE_MODELS,
    ComparePlan,
    compare_blocking_reasons,
    left_out_sentence,
    plan_compare,
)
from gui.widgets import icons
from gui.widgets.model_picker import price_label
from gui.widgets.model_search import rank_models

_WIDTH = 380
_LIST_H = 300
_GAP = 8


class CompareModelList(QAbstractListModel):
    """Models matching the search, each with a check box; ticks survive a new search."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.chosen: list[str] = []  # in the order they were ticked
        self._rows = picker_models()

    def set_query(self, query: str) -> None:
        self.beginResetModel()
        self._rows = rank_models(picker_models(), query)
        self.endResetModel()

    def set_chosen(self, model_ids: list[str]) -> None:
        self.chosen = [m for m in model_ids if m in MODELS][:MAX_COMPARE_MODELS]
        self._changed()

    def model_ids(self) -> list[str]:
        return [m.id for m in self._rows]

    def toggle(self, row: int) -> bool:
        """Tick or untick ``row``; False when a fifth model would be ticked."""
        if not 0 <= row < len(self._rows):
            return False
        model_id = self._rows[row].id
        if model_id in self.chosen:
            self.chosen.remove(model_id)
        elif len(self.chosen) >= MAX_COMPARE_MODELS:
            return False
        else:
            self.chosen.append(model_id)
        self._changed()
        return True

    def _changed(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        model = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{model.label}    {price_label(model)}"
        if role == Qt.ItemDataRole.CheckStateRole:
            ticked = model.id in self.chosen
            return Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole:
            return icons.logo_pixmap(model.logo, model.company, 20)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{model.company} · {model.description}"
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(0, 34)
        return None


class ComparePicker(QFrame):
    """Popup: search, tick up to four models, "Stop comparing"."""

    chosenChanged = Signal(list)  # model ids, in the order ticked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("PickerPopup")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search models to compare…")
        self.search.setClearButtonEnabled(True)
        self.list_model = CompareModelList(self)
        self.view = QListView()
        self.view.setModel(self.list_model)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view.setFixedHeight(_LIST_H)
        self.view.setFrameShape(QFrame.Shape.NoFrame)
        self.hint = QLabel()
        self.hint.setObjectName("Muted")
        self.hint.setWordWrap(True)
        self.stop_button = QPushButton("Stop comparing")
        self.done_button = QPushButton("Done")
        self.done_button.setObjectName("Primary")
        buttons = QHBoxLayout()
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        buttons.addWidget(self.done_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)
        layout.addWidget(self.search)
        layout.addWidget(self.view)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)
        self.setFixedWidth(_WIDTH)
        self.search.textChanged.connect(self._refilter)
        self.search.installEventFilter(self)
        self.view.clicked.connect(lambda index: self.toggle_row(index.row()))
        self.stop_button.clicked.connect(self._stop)
        self.done_button.clicked.connect(self.hide)
        self._show_hint()

    def open_for(self, chosen: list[str], anchor: QWidget | None = None) -> None:
        self.list_model.set_chosen(chosen)
        self.search.clear()
        self._refilter()
        self._show_hint()
        self.adjustSize()
        self._place(anchor)
        self.show()
        self.search.setFocus()

    def chosen(self) -> list[str]:
        return list(self.list_model.chosen)

    def toggle_row(self, row: int) -> None:
        if not self.list_model.toggle(row):
            self.hint.setText(f"At most {MAX_COMPARE_MODELS} models can be compared at once.")
            return
        self._show_hint()
        self.chosenChanged.emit(self.chosen())

    def _stop(self) -> None:
        self.list_model.set_chosen([])
        self._show_hint()
        self.chosenChanged.emit([])
        self.hide()

    def _refilter(self) -> None:
        self.list_model.set_query(self.search.text())
        if self.list_model.rowCount():
            self.view.setCurrentIndex(self.list_model.index(0))

    def _show_hint(self) -> None:
        n = len(self.list_model.chosen)
        if n < MIN_COMPARE_MODELS:
            self.hint.setText(
                f"Tick {MIN_COMPARE_MODELS}–{MAX_COMPARE_MODELS} models: one prompt goes to "
                f"each, shown side by side. {n} chosen."
            )
        else:
            names = ", ".join(MODELS[m].label for m in self.list_model.chosen)
            self.hint.setText(f"Comparing {n} models: {names}.")

    def _place(self, anchor: QWidget | None) -> None:
        """Above the chip, else below it; never past the screen's edges."""
        if anchor is None:
            return
        top_left = anchor.mapToGlobal(QPoint(0, 0))
        screen = QGuiApplication.screenAt(top_left) or QGuiApplication.primaryScreen()
        avail = screen.availableGeometry()
        x, y = top_left.x(), top_left.y() - _GAP - self.height()
        if y < avail.top():
            y = top_left.y() + anchor.height() + _GAP
        x = max(avail.left(), min(x, avail.right() - self.width()))
        y = max(avail.top(), min(y, avail.bottom() - self.height()))
        self.move(x, y)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            row, count = self.view.currentIndex().row(), self.list_model.rowCount()
            if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down) and count:
                step = -1 if event.key() == Qt.Key.Key_Up else 1
                self.view.setCurrentIndex(self.list_model.index(max(0, min(count - 1, row + step))))
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and row >= 0:
                self.toggle_row(row)
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.hide()
                return True
        return False


class CompareControl(QObject):
    """The chip, its popup and the line naming the models left out; owns the choice."""

    changed = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.chip = QToolButton()
        self.chip.setObjectName("Chip")
        self.chip.setCheckable(True)
        self.chip.setCursor(Qt.CursorShape.PointingHandCursor)
        self.chip.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.picker = ComparePicker(parent)
        self.note = QLabel()
        self.note.setObjectName("Muted")
        self.note.setWordWrap(True)
        self.note.hide()
        self.model_ids: list[str] = []
        self._current_model = ""
        self.chip.clicked.connect(self.open_picker)
        self.picker.chosenChanged.connect(self.set_models)
        self._show_chip()

    @property
    def active(self) -> bool:
        return len(self.model_ids) >= MIN_COMPARE_MODELS

    def open_picker(self) -> None:
        # Starting a comparison begins with the model the prompt bar has chosen.
        start = self.model_ids or ([self._current_model] if self._current_model else [])
        self._show_chip()  # a click toggled the check mark; it follows the choice instead
        self.picker.open_for(start, self.chip)

    def set_models(self, model_ids: list[str]) -> None:
        self.model_ids = [m for m in model_ids if m in MODELS][:MAX_COMPARE_MODELS]
        self._show_chip()
        self.changed.emit()

    def follow_model(self, model_id: str) -> None:
        """The prompt bar's chosen model (the first one ticked when a comparison starts)."""
        self._current_model = model_id

    def plan_for(self, prompt: str, state: Options, n_attachments: int) -> ComparePlan:
        return plan_compare(prompt.strip(), state, self.model_ids, n_attachments)

    def blocking_reasons(
        self, prompt: str, state: Options, n_attachments: int, credits: int | None
    ) -> list[str]:
        plan = self.plan_for(prompt, state, n_attachments)
        return compare_blocking_reasons(plan, prompt, credits)

    def show_plan(self, plan: ComparePlan | None, prompt: str) -> None:
        """Name the models left out (once there is a prompt to check)."""
        refused = plan.refused if plan is not None and prompt.strip() and plan.accepted else ()
        self.note.setText("\n".join(left_out_sentence(e) for e in refused))
        self.note.setVisible(bool(refused))

    def _show_chip(self) -> None:
        n = len(self.model_ids)
        self.chip.setChecked(self.active)
        self.chip.setText(f"Compare · {n}" if self.active else "Compare")
        names = ", ".join(MODELS[m].label for m in self.model_ids)
        self.chip.setToolTip(
            f"Comparing {names}: one prompt goes to each model."
            if self.active
            else f"Send one prompt to {MIN_COMPARE_MODELS}–{MAX_COMPARE_MODELS} models at once."
        )
