"""The model sheet: everything the catalog knows about one model, and the request preview.

A non-modal panel. Its left half is the model's facts (``gui.engine.model_facts``) and
price table; its right half is the provider request the prompt bar would send, as the
backend's dry run built it, with "Copy as JSON" and "Copy as command line". It never talks
to the engine: it emits ``refreshRequested`` and ``model_sheet_flow.py`` answers with
``show_preview`` or ``show_refusal``.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.engine.model_facts import ModelFacts
from gui.engine.preview import RequestPreview
from gui.widgets import window_geometry
from gui.widgets.icons import glyph_icon

DETAILS_GLYPH = "ⓘ"
DETAILS_SHORTCUT = "Ctrl+I"


def model_details_button(parent: QWidget | None = None) -> QToolButton:
    """The prompt bar's "ⓘ" chip that opens the sheet of the selected model."""
    button = QToolButton(parent)
    button.setObjectName("Chip")
    button.setIcon(glyph_icon("info"))
    button.setText(DETAILS_GLYPH)  # for accessibility tools; the icon is what is shown
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    button.setToolTip(f"Model details and request preview ({DETAILS_SHORTCUT})")
    button.setAccessibleName("Model details")
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    return button


def _wrapped(text: str = "", name: str | None = None) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    return label


def _monospace(lines: int) -> QPlainTextEdit:
    view = QPlainTextEdit()
    view.setReadOnly(True)
    view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    view.setMinimumHeight(lines * view.fontMetrics().lineSpacing() + 12)
    return view


class ModelSheet(QDialog):
    refreshRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model details")
        self.setModal(False)
        self.resize(window_geometry.dialog_size(self, QSize(1040, 640)))
        self.model_id = ""
        self.preview: RequestPreview | None = None
        self.command = ""

        self.title = QLabel()
        self.title.setObjectName("Title")
        self.company = QLabel()
        self.company.setObjectName("Muted")
        self.description = _wrapped()
        self.facts = QFormLayout()
        self.facts.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.facts.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.facts.setVerticalSpacing(6)
        self.facts.setHorizontalSpacing(16)
        self.prices = QTableWidget(0, 2)
        self.prices.setHorizontalHeaderLabels(["Options", "Credits per image"])
        self.prices.verticalHeader().hide()
        self.prices.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.prices.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.ResizeToContents
        )
        self.prices.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.prices.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.prices.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        # The facts scroll when a long list (ratios, sources) outgrows the window.
        facts_page = QWidget()
        facts_side = QVBoxLayout(facts_page)
        facts_side.setContentsMargins(0, 0, 12, 0)
        facts_side.setSpacing(8)
        facts_side.addWidget(self.title)
        facts_side.addWidget(self.company)
        facts_side.addWidget(self.description)
        facts_side.addLayout(self.facts)
        facts_side.addWidget(QLabel("PRICE"))
        facts_side.addWidget(self.prices)
        facts_side.addStretch(1)

        heading = QLabel("Request preview")
        heading.setObjectName("Title")
        self.status = _wrapped(name="Muted")
        self.target = _wrapped()  # "POST https://queue.fal.run/…"
        self.body_view = _monospace(14)
        self.notes = _wrapped(name="Muted")
        self.command_view = _monospace(3)
        self.refresh_button = QPushButton("Refresh")
        self.copy_json_button = QPushButton("Copy as JSON")
        self.copy_command_button = QPushButton("Copy as command line")
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        buttons.addWidget(self.copy_json_button)
        buttons.addWidget(self.copy_command_button)

        preview_side = QVBoxLayout()
        preview_side.addWidget(heading)
        preview_side.addWidget(_wrapped("What the prompt bar would send; no credits are used."))
        preview_side.addWidget(self.status)
        preview_side.addWidget(self.target)
        preview_side.addWidget(self.body_view, 1)
        preview_side.addWidget(self.notes)
        preview_side.addWidget(QLabel("COMMAND LINE"))
        preview_side.addWidget(self.command_view)
        preview_side.addLayout(buttons)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 16)
        layout.setSpacing(24)
        facts_scroll = QScrollArea()
        facts_scroll.setWidget(facts_page)
        facts_scroll.setWidgetResizable(True)
        facts_scroll.setFrameShape(QFrame.Shape.NoFrame)
        facts_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(facts_scroll, 4)
        layout.addLayout(preview_side, 5)

        self.refresh_button.clicked.connect(self.refreshRequested)
        self.copy_json_button.clicked.connect(self.copy_json)
        self.copy_command_button.clicked.connect(self.copy_command)
        self._set_preview_actions(False)

    # -- facts -------------------------------------------------------------------------
    def show_facts(self, facts: ModelFacts) -> None:
        self.model_id = facts.model_id
        self.setWindowTitle(f"{facts.label} — model details")
        self.title.setText(facts.label)
        self.company.setText(facts.company)
        self.description.setText(facts.description)
        while self.facts.rowCount():
            self.facts.removeRow(0)
        for what, value in facts.rows:
            self.facts.addRow(QLabel(what), _wrapped(value))
        self.prices.setRowCount(len(facts.prices))
        for row, line in enumerate(facts.prices):
            cost = QTableWidgetItem(f"{line.credits_per_image:g}")
            cost.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.prices.setItem(row, 0, QTableWidgetItem(line.options))
            self.prices.setItem(row, 1, cost)
        # Every price row shows, without a scroll bar of its own.
        rows = sum(self.prices.rowHeight(r) for r in range(self.prices.rowCount()))
        self.prices.setFixedHeight(self.prices.horizontalHeader().height() + rows + 4)

    def fact(self, what: str) -> str:
        """The value shown on the row ``what`` ("" when there is none)."""
        for row in range(self.facts.rowCount()):
            label = self.facts.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
            value = self.facts.itemAt(row, QFormLayout.ItemRole.FieldRole).widget()
            if isinstance(label, QLabel) and label.text() == what and isinstance(value, QLabel):
                return value.text()
        return ""

    # -- preview -----------------------------------------------------------------------
    def show_pending(self, command: str) -> None:
        self.command = command
        self.command_view.setPlainText(command)
        self.copy_command_button.setEnabled(bool(command))
        self.status.setText("Asking the server for the request…")

    def show_preview(self, preview: RequestPreview, command: str) -> None:
        self.preview = preview
        self.show_pending(command)
        calls = f" × {preview.calls} calls" if preview.calls > 1 else ""
        self.status.setText(f"{preview.provider} · {preview.content_type}{calls}")
        self.target.setText(f"{preview.method} {preview.url}")
        self.body_view.setPlainText(preview.as_json())
        self.notes.setText("\n".join(preview.notes))
        self._set_preview_actions(True)

    def show_refusal(self, message: str, command: str) -> None:
        """The server's (or the reference's) sentence, in place of the request."""
        self.preview = None
        self.show_pending(command)
        self.status.setText("The server would refuse this request:")
        self.target.setText(message)
        self.body_view.clear()
        self.notes.clear()
        self._set_preview_actions(False)

    def _set_preview_actions(self, has_preview: bool) -> None:
        self.copy_json_button.setEnabled(has_preview)

    def copy_json(self) -> None:
        if self.preview is not None:
            QGuiApplication.clipboard().setText(self.preview.as_json())

    def copy_command(self) -> None:
        if self.command:
            QGuiApplication.clipboard().setText(self.command)
