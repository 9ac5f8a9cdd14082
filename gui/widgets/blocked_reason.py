"""Why Generate cannot run, said in words under the button (not only in its tooltip).

`set_reasons` shows the sentences while the request is blocked; `flash` draws attention to
them when the user tries to generate anyway (Ctrl+Enter, or a click on the disabled
button), so the attempt never does nothing visible.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QWidget

FLASH_MS = 1600


class BlockedReason(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BlockedReason")
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setProperty("flash", False)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FLASH_MS)
        self._timer.timeout.connect(lambda: self._set_flash(False))
        self.hide()

    def set_reasons(self, reasons: list[str]) -> None:
        text = "\n".join(reasons)
        if text != self.text():
            self.setText(text)
            self.setToolTip(text)
        self.setVisible(bool(reasons))
        if not reasons:
            self._timer.stop()
            self._set_flash(False)

    def is_flashing(self) -> bool:
        return bool(self.property("flash"))

    def flash(self) -> None:
        """Highlight the reasons for a moment (restarts when called again)."""
        if not self.text():
            return
        self.show()
        self._set_flash(True)
        self._timer.start()

    def _set_flash(self, on: bool) -> None:
        if self.is_flashing() == on:
            return
        self.setProperty("flash", on)
        self.style().unpolish(self)
        self.style().polish(self)
        self.update()
