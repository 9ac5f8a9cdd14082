"""Toasts: short messages stacked in the top-right corner of the window.

Errors stay longer than confirmations; at most a few are shown at once (the oldest goes).
`messages()` lists what is visible, which the tests read.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from gui.widgets import icons, theme

_DURATION_MS = {"error": 7000, "success": 3000, "info": 4000}
_MAX_VISIBLE = 4


class Toast(QFrame):
    def __init__(self, text: str, kind: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("Toast")
        self.setProperty("kind", kind)
        self.kind = kind
        self.text = text
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 8, 10)
        layout.setSpacing(10)
        self.dot = QLabel("●")
        label = QLabel(text)
        label.setWordWrap(True)
        label.setMaximumWidth(340)
        self.close_button = QToolButton()
        self.close_button.setObjectName("Ghost")
        self.close_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.dot, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.restyle()
        theme.on_change(self.restyle)
        QTimer.singleShot(_DURATION_MS.get(kind, 4000), self.dismiss)

    def restyle(self) -> None:
        t = theme.current()
        color = {"error": "danger", "success": "success"}.get(self.kind, "accent")
        self.dot.setStyleSheet(f"color: {getattr(t, color)}; font-size: 10px;")
        self.close_button.setIcon(icons.glyph_icon("close", 12, t.c("muted")))

    def dismiss(self) -> None:
        host = self.parentWidget()
        self.hide()
        self.deleteLater()
        if isinstance(host, ToastHost):
            host.forget(self)


class ToastHost(QWidget):
    """A transparent overlay over its parent that lays toasts out bottom-right."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, False)
        self._toasts: list[Toast] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(8)
        parent.installEventFilter(self)
        self._place()

    def show_toast(self, text: str, kind: str = "info") -> Toast:
        # The same message twice in a row (e.g. two identical failures) is shown once.
        for existing in self._toasts:
            if existing.text == text:
                return existing
        toast = Toast(text, kind, self)
        self._toasts.append(toast)
        self._layout.addWidget(toast)
        while len(self._toasts) > _MAX_VISIBLE:
            self._toasts[0].dismiss()
        self._place()
        self.show()
        self.raise_()
        return toast

    def error(self, text: str) -> Toast:
        return self.show_toast(text, "error")

    def success(self, text: str) -> Toast:
        return self.show_toast(text, "success")

    def info(self, text: str) -> Toast:
        return self.show_toast(text, "info")

    def forget(self, toast: Toast) -> None:
        if toast in self._toasts:
            self._toasts.remove(toast)
        self._place()

    def clear(self) -> None:
        for toast in list(self._toasts):
            toast.dismiss()

    def messages(self) -> list[str]:
        return [t.text for t in self._toasts]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self._place()
        return False

    def _place(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        if not self._toasts:
            self.hide()
            return
        self.adjustSize()
        size = self.sizeHint()
        width = min(400, max(size.width(), 260))
        height = size.height()
        # Top right, under the header: never over the prompt bar and its Generate button.
        self.setGeometry(parent.width() - width - 20, 64, width, height)
        self.raise_()
