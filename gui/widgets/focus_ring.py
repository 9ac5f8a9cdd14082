"""A keyboard focus ring around an item view's current item, for hand-painted delegates.

Delegates that paint rows themselves (the sessions list, the grid) draw selection and hover
but not focus. `FocusRing` is a transparent overlay on the view's viewport that outlines the
current item while the view has keyboard focus — like the web's :focus-visible, it shows
after Tab or a key press, not after a mouse click — with no change to the delegate.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QFocusEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QAbstractItemView, QWidget

from gui.widgets import theme

_KEYBOARD_REASONS = (
    Qt.FocusReason.TabFocusReason,
    Qt.FocusReason.BacktabFocusReason,
    Qt.FocusReason.ShortcutFocusReason,
)


class FocusRing(QWidget):
    def __init__(
        self,
        view: QAbstractItemView,
        inset: tuple[int, int, int, int] = (0, 0, 0, 0),
        radius: float = 10.0,
    ) -> None:
        super().__init__(view.viewport())
        self.setObjectName("FocusRing")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._view = view
        self._inset = inset
        self._radius = radius
        self._keyboard = False
        view.installEventFilter(self)
        view.viewport().installEventFilter(self)
        self.hide()

    def ring_rect(self) -> QRect | None:
        """Where the ring is drawn (viewport coordinates), or None while it is hidden."""
        index = self._view.currentIndex()
        if not (self._keyboard and self._view.hasFocus() and index.isValid()):
            return None
        rect = self._view.visualRect(index)
        return rect.adjusted(*self._inset) if rect.isValid() else None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.FocusIn and isinstance(event, QFocusEvent):
            self._keyboard = event.reason() in _KEYBOARD_REASONS
        elif kind == QEvent.Type.MouseButtonPress:
            self._keyboard = False
        elif kind == QEvent.Type.KeyPress:
            self._keyboard = True
        if kind in (
            QEvent.Type.FocusIn,
            QEvent.Type.FocusOut,
            QEvent.Type.MouseButtonPress,
            QEvent.Type.KeyPress,
            QEvent.Type.Resize,
        ):
            # After the view has handled the event (a Tab into it sets its current item).
            QTimer.singleShot(0, self, self._sync)
        return False

    def _sync(self) -> None:
        viewport = self._view.viewport()
        if self.geometry() != viewport.rect():
            self.setGeometry(viewport.rect())
        visible = self.ring_rect() is not None
        if visible != self.isVisible():
            self.setVisible(visible)
            if visible:
                self.raise_()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.ring_rect()
        if rect is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(theme.current().c("focus"), 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(QRectF(rect).adjusted(1, 1, -1, -1), self._radius, self._radius)
        painter.end()
