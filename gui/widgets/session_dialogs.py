"""The two questions a session action asks: its new name, and whether to delete it.

Both open window-modal with `open()`, never `exec()`: the asyncio loop keeps running, and a
test answers them like a user (type, click).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

MAX_TITLE_LENGTH = 200  # the host's limit (backend/convex_host/functions_library.py)


class RenameSessionDialog(QDialog):
    """Asks for a session's new title; `renamed` carries it, trimmed, when accepted."""

    renamed = Signal(str, str)  # session id, new title

    def __init__(self, session_id: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Rename session")
        self.session_id = session_id
        self.field = QLineEdit(title)
        self.field.setMaxLength(MAX_TITLE_LENGTH)
        self.field.selectAll()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Rename")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("New name for this session:"))
        layout.addWidget(self.field)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        # An empty name is not a name: the button says so by being disabled.
        self.field.textChanged.connect(lambda text: self.ok_button.setEnabled(bool(text.strip())))

    def accept(self) -> None:
        title = self.field.text().strip()
        if not title:
            return
        super().accept()
        self.renamed.emit(self.session_id, title)


def confirm_delete(title: str, parent: QWidget) -> QMessageBox:
    """A question box (opened, not executed) whose Delete button is the destructive role."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Delete session")
    box.setText(f"Delete “{title}” and all its images?")
    box.setInformativeText("You can undo this for a few seconds.")
    box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))
    return box
