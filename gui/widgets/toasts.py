"""Toasts: short messages stacked at the bottom-left of the feed, just above the prompt bar.

They sit where no card keeps an action: left of the column where every card has its Copy
prompt / Reuse / Download (in the top-right corner they covered the newest card's). The
feed says where that is through a `toast_region()` method (`GenerationGridView`); the host
finds the widget that has one among its parent's descendants, or is given it (`area`).
Without one, toasts go to the parent's bottom-left corner.

Errors stay longer than confirmations; at most a few are shown at once (the oldest goes).
`messages()` lists what is visible, which the tests read.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from gui.widgets import icons, theme

# "undo" lasts as long as the undo window of a deleted session (gui/engine/session_trash.py).
_DURATION_MS = {"error": 7000, "success": 3000, "info": 4000, "undo": 6000}
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
    """An overlay over its parent that stacks toasts bottom-left of the feed."""

    def __init__(self, parent: QWidget, area: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, False)
        self._area: QWidget | None = None
        self._toasts: list[Toast] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(8)
        parent.installEventFilter(self)
        if area is not None:
            self.set_area(area)
        self._place()

    def show_toast(self, text: str, kind: str = "info") -> Toast:
        # The same message twice in a row (e.g. two identical failures) is shown once.
        for existing in self._toasts:
            if existing.text == text:
                return existing
        toast = Toast(text, kind, self)
        self._toasts.append(toast)
        self._layout.addWidget(toast)
        toast.show()  # now, not queued: the host is sized for it below
        while len(self._toasts) > _MAX_VISIBLE:
            self._toasts[0].dismiss()
        self.show()
        self._place()
        return toast

    def set_area(self, area: QWidget) -> None:
        """The widget whose `toast_region()` (or whole rect) the toasts sit in."""
        self._area = area
        area.installEventFilter(self)
        self._place()

    def area(self) -> QWidget | None:
        if self._area is None and self.parentWidget() is not None:
            for child in self.parentWidget().findChildren(QWidget):
                if callable(getattr(child, "toast_region", None)):
                    self.set_area(child)
                    break
        return self._area

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
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.Move):
            self._place()
        return False

    def _place(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        if not self._toasts:
            self.hide()
            return
        self._layout.activate()  # a toast just added is not measured until the layout runs
        region = self._region(parent)
        # One width for the whole stack: as wide as the region allows, up to 400 px.
        width = max(220, min(400, region.width()))
        height = self.heightForWidth(width) if self.hasHeightForWidth() else -1
        if height <= 0:
            height = self.sizeHint().height()
        # Bottom-left of the feed, growing upwards: never over the prompt bar below it,
        # nor over the cards' header actions on the right.
        self.setGeometry(region.left(), region.bottom() - height, width, height)
        self.raise_()

    def _region(self, parent: QWidget) -> QRect:
        area = self.area()
        if area is None or not area.isVisible():
            return QRect(20, 64, parent.width() - 40, parent.height() - 84)
        get = getattr(area, "toast_region", None)
        local: QRect = get() if callable(get) else area.rect()
        return QRect(area.mapTo(parent, local.topLeft()), local.size())
