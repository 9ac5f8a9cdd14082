"""The carousel's image: one pixmap fitted or zoomed, pannable, and dragged out when fitted.

Split from gui.widgets.carousel (the dialog around it) so each stays small.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import QWidget

from gui.widgets import theme

MIN_ZOOM, MAX_ZOOM = 0.1, 8.0


class ImageCanvas(QWidget):
    """Paints one pixmap fitted (zoom None) or at a zoom factor, pannable by dragging.

    The image is laid out at ``base`` (the large variant's size) whatever pixmap paints it,
    so swapping the variant for the original (or a thumbnail for the variant) changes the
    detail, not the zoom or the position."""

    zoomChanged = Signal()
    dragOutRequested = Signal()  # dragged while fitted: the image leaves as a file

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pixmap: QPixmap | None = None
        self.base = QSizeF()
        self.failed = False  # the image could not be loaded
        self.zoom: float | None = None  # None: fit to the window
        self.offset = QPointF(0, 0)
        self._drag: QPoint | None = None
        self.setMinimumSize(200, 200)

    def set_pixmap(self, pixmap: QPixmap | None, reset: bool, base: QSizeF | None = None) -> None:
        self.pixmap = pixmap
        if pixmap is not None and not pixmap.isNull():
            self.base = base if base is not None else pixmap.deviceIndependentSize()
        if reset:
            self.zoom, self.offset = None, QPointF(0, 0)
        self.update()

    def fit_scale(self) -> float:
        if self.pixmap is None or self.pixmap.isNull() or self.base.isEmpty():
            return 1.0
        return min(self.width() / self.base.width(), self.height() / self.base.height(), 1.0)

    def magnification(self) -> float:
        """Device pixels painted per pixel of the shown pixmap (> 1: it is being enlarged)."""
        if self.pixmap is None or self.pixmap.isNull() or self.pixmap.width() == 0:
            return 0.0
        scale = self.base.width() / self.pixmap.deviceIndependentSize().width()
        return self.effective_zoom() * scale * self.devicePixelRatioF()

    def effective_zoom(self) -> float:
        return self.zoom if self.zoom is not None else self.fit_scale()

    def zoom_by(self, factor: float) -> None:
        self.zoom = max(MIN_ZOOM, min(MAX_ZOOM, self.effective_zoom() * factor))
        self.update()
        self.zoomChanged.emit()

    def fit(self) -> None:
        self.zoom, self.offset = None, QPointF(0, 0)
        self.update()
        self.zoomChanged.emit()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self.pixmap is None or self.pixmap.isNull():
            p.setPen(theme.current().c("muted"))
            text = (
                "This image could not be loaded. Press R or Reload to try again."
                if self.failed
                else "Loading image…"
            )
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, text)
            return
        size = self.base * self.effective_zoom()
        target = QRectF(0, 0, size.width(), size.height())
        target.moveCenter(QPointF(self.rect().center()) + self.offset)
        p.drawPixmap(target, self.pixmap, QRectF(self.pixmap.rect()))

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.zoom_by(1.15 if event.angleDelta().y() > 0 else 1 / 1.15)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._drag = event.position().toPoint()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        moved = self._drag is not None and (event.position().toPoint() - self._drag)
        if moved and self.zoom is None and moved.manhattanLength() >= 10:
            self._drag = None
            self.dragOutRequested.emit()
        if self._drag is not None and self.zoom is not None:
            pos = event.position().toPoint()
            self.offset += QPointF(pos - self._drag)
            self._drag = pos
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.zoom is None:
            self.zoom = 1.0
            self.update()
            self.zoomChanged.emit()
        else:
            self.fit()
