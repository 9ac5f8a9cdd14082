"""The model chip: shows the selected model's name, elided (never cut) when space is short.

Its size hint asks for the whole name; given less, it shows the start of the name with an
ellipsis and the tooltip names the model in full, so the selection is always identifiable.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QToolButton, QWidget

ARROW = "  ▾"
MIN_CHARS = 6  # the chip never gets narrower than the name's first characters
SHORTCUT_HINT = "Choose a model (Ctrl+M)"


class ModelChip(QToolButton):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._label = ""
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setIconSize(QSize(18, 18))
        self.setToolTip(SHORTCUT_HINT)
        # May shrink (down to the name's first characters) where a line is too narrow.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    @property
    def label(self) -> str:
        """The full model name (the shown text may be elided)."""
        return self._label

    def set_label(self, label: str) -> None:
        self._label = label
        self.setText(label + ARROW)
        self.updateGeometry()
        self._elide()

    def is_elided(self) -> bool:
        return self.text() != self._label + ARROW

    def sizeHint(self) -> QSize:
        return self._hint_for(self._label)

    def minimumSizeHint(self) -> QSize:
        short = self._label if len(self._label) <= MIN_CHARS else self._label[:MIN_CHARS] + "…"
        return self._hint_for(short)

    def _chrome(self) -> int:
        """Everything but the text: icon, padding, border."""
        self.ensurePolished()
        return super().sizeHint().width() - self.fontMetrics().horizontalAdvance(self.text())

    def _hint_for(self, label: str) -> QSize:
        self.ensurePolished()
        fm = self.fontMetrics()
        width = self._chrome() + fm.horizontalAdvance(label + ARROW)
        return QSize(width, super().sizeHint().height())

    def _elide(self) -> None:
        self.ensurePolished()
        fm = self.fontMetrics()
        room = self.width() - self._chrome()
        # Measured as the size hint measures it (name and arrow together), so a chip given
        # its hint never elides by a rounding pixel.
        if fm.horizontalAdvance(self._label + ARROW) <= room:
            shown = self._label
        else:
            room -= fm.horizontalAdvance(ARROW)
            shown = fm.elidedText(self._label, Qt.TextElideMode.ElideRight, max(room, 0))
        if shown + ARROW != self.text():
            self.setText(shown + ARROW)
        self.setToolTip(f"{self._label} — {SHORTCUT_HINT}")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()
