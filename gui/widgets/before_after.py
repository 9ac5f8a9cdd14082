"""Before and after, for edits: the references an edit was made from, beside its result,
and a wipe between the reference and the result when there is a single reference.

The carousel puts its image canvas inside ``BeforeAfterPanel``; for a generation without
references the panel is just that canvas. For an edit it adds a column of the reference
images on the left and, with a single reference, lays the wipe (the reference left of
the split line, the result right of it) over the canvas, under the canvas's previous /
next buttons, with a slider below; "Compare" switches between the wipe and the plain,
zoomable canvas. Images come from the thumbnail cache, so
the panel fetches nothing itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from catalog.image_variants import LARGE_EDGE
from gui.widgets import theme
from gui.widgets.thumbnail_cache import ThumbnailCache

THUMB_EDGE = 140
SLIDER_STEPS = 1000
_TEXT = "color: #e9ebf2;"


def fitted(size: QSizeF, bounds: QRectF) -> QRectF:
    """``size`` scaled to fit ``bounds`` (never enlarged past 1:1), centred in it."""
    if size.isEmpty() or bounds.isEmpty():
        return QRectF()
    scale = min(bounds.width() / size.width(), bounds.height() / size.height(), 1.0)
    rect = QRectF(QPointF(0, 0), size * scale)
    rect.moveCenter(bounds.center())
    return rect


class WipeView(QWidget):
    """The reference (before) left of the split line, the result (after) right of it, both
    fitted into the result's place; dragging anywhere moves the line."""

    splitMoved = Signal(float)  # 0.0 (all after) .. 1.0 (all before)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.before: QPixmap | None = None
        self.after: QPixmap | None = None
        self.split = 0.5
        self.setMinimumSize(200, 200)
        self.setCursor(Qt.CursorShape.SplitHCursor)

    def set_images(self, before: QPixmap | None, after: QPixmap | None) -> None:
        self.before, self.after = before, after
        self.update()

    def set_split(self, split: float) -> None:
        self.split = max(0.0, min(1.0, split))
        self.update()

    def image_rect(self) -> QRectF:
        """Where the result is painted (the reference is fitted into the same place)."""
        shown = self.after if self.after is not None else self.before
        if shown is None or shown.isNull():
            return QRectF()
        return fitted(shown.deviceIndependentSize(), QRectF(self.rect()).adjusted(8, 8, -8, -8))

    def split_x(self) -> float:
        rect = self.image_rect()
        return rect.left() + rect.width() * self.split

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        # Opaque: the canvas under it must not show through around the images.
        p.fillRect(self.rect(), QColor("#07080b" if theme.current().dark else "#1b1d24"))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        place = self.image_rect()
        if place.isEmpty():
            p.setPen(QColor("#b8bdcc"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Loading images…")
            return
        x = self.split_x()
        for pixmap, clip in (
            (self.after, QRectF(x, place.top(), place.right() - x, place.height())),
            (self.before, QRectF(place.left(), place.top(), x - place.left(), place.height())),
        ):
            if pixmap is None or pixmap.isNull() or clip.width() <= 0:
                continue
            p.save()
            p.setClipRect(clip)
            p.fillRect(place, QColor("#000000"))
            # A reference smaller than the result is shown at the result's size.
            target = fitted(
                pixmap.deviceIndependentSize().scaled(
                    place.size(), Qt.AspectRatioMode.KeepAspectRatio
                ),
                place,
            )
            p.drawPixmap(target, pixmap, QRectF(pixmap.rect()))
            p.restore()
        p.setPen(QPen(QColor("#ffffff"), 2))
        p.drawLine(QPointF(x, place.top()), QPointF(x, place.bottom()))
        p.setBrush(QColor("#ffffff"))
        p.drawEllipse(QPointF(x, place.center().y()), 9, 9)
        self._label(p, "Before", QPointF(place.left() + 10, place.top() + 10), left=True)
        self._label(p, "After", QPointF(place.right() - 10, place.top() + 10), left=False)

    @staticmethod
    def _label(p: QPainter, text: str, at: QPointF, left: bool) -> None:
        width = p.fontMetrics().horizontalAdvance(text) + 16
        box = QRectF(at.x() if left else at.x() - width, at.y(), width, 24)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 160))
        p.drawRoundedRect(box, 12, 12)
        p.setPen(QColor("#ffffff"))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _move_to(self, event: QMouseEvent) -> None:
        rect = self.image_rect()
        if rect.width() > 0:
            self.set_split((event.position().x() - rect.left()) / rect.width())
            self.splitMoved.emit(self.split)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._move_to(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._move_to(event)


class ReferenceColumn(QWidget):
    """The references an edit was made from, one under the other."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedWidth(THUMB_EDGE + 16)
        self.title = QLabel()
        self.title.setStyleSheet(_TEXT + " font-weight: 700;")
        self.thumbs: list[QLabel] = []
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 8, 0)
        self.box.setSpacing(8)
        self.box.addWidget(self.title)
        self.box.addStretch(1)

    def show_images(self, pixmaps: Sequence[QPixmap | None]) -> None:
        self.title.setText("Reference" if len(pixmaps) == 1 else f"References ({len(pixmaps)})")
        while len(self.thumbs) < len(pixmaps):
            label = QLabel()
            label.setFixedSize(THUMB_EDGE, THUMB_EDGE)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("background: rgba(255, 255, 255, 18); border-radius: 8px;")
            self.box.insertWidget(len(self.thumbs) + 1, label)
            self.thumbs.append(label)
        for n, label in enumerate(self.thumbs):
            label.setVisible(n < len(pixmaps))
            pixmap = pixmaps[n] if n < len(pixmaps) else None
            if pixmap is None or pixmap.isNull():
                label.setPixmap(QPixmap())
                label.setText("Loading…" if n < len(pixmaps) else "")
            else:
                label.setPixmap(
                    pixmap.scaled(
                        THUMB_EDGE,
                        THUMB_EDGE,
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                )


class BeforeAfterPanel(QWidget):
    def __init__(
        self, cache: ThumbnailCache, canvas: QWidget, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.cache = cache
        self.canvas = canvas
        self.references: tuple[str, ...] = ()
        self.result: QPixmap | None = None
        self.column = ReferenceColumn()
        # A child of the canvas, made before the carousel's previous / next buttons, so
        # they stay on top of it.
        self.wipe = WipeView(canvas)
        canvas.installEventFilter(self)  # the wipe covers the canvas whatever its size
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setValue(SLIDER_STEPS // 2)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Left/Right page the carousel
        self.slider.setAccessibleName("Before and after split")
        self.slider.valueChanged.connect(lambda v: self.wipe.set_split(v / SLIDER_STEPS))
        self.wipe.splitMoved.connect(lambda s: self.slider.setValue(round(s * SLIDER_STEPS)))
        self.compare = QPushButton("Compare")
        self.compare.setCheckable(True)
        self.compare.setChecked(True)
        self.compare.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.compare.setToolTip("Wipe between the reference and the result (C)")
        self.compare.toggled.connect(lambda _on: self._layout_mode())
        self.slider_row = QWidget()
        row = QHBoxLayout(self.slider_row)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel("Before"), self.slider, QLabel("After")):
            if isinstance(widget, QLabel):
                widget.setStyleSheet(_TEXT)
            row.addWidget(widget, 1 if widget is self.slider else 0)
        row.addWidget(self.compare)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(canvas, 1)
        right.addWidget(self.slider_row)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.column)
        layout.addLayout(right, 1)
        cache.thumbnailReady.connect(self._on_ready)
        self._listening = True
        self._layout_mode()

    def show_for(self, references: Sequence[str], result: QPixmap | None) -> None:
        """Show ``references`` beside the result (its current rendition ``result``)."""
        self.references = tuple(references)
        self.result = result
        self._refresh()

    @property
    def comparing(self) -> bool:
        """Whether the wipe (not the plain canvas) is on screen."""
        return not self.wipe.isHidden()

    def toggle_compare(self) -> None:
        if len(self.references) == 1:
            self.compare.toggle()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.canvas and event.type() == QEvent.Type.Resize:
            self.wipe.setGeometry(self.canvas.rect())
        return super().eventFilter(watched, event)

    def release(self) -> None:
        if self._listening:
            self._listening = False
            self.cache.thumbnailReady.disconnect(self._on_ready)

    def _on_ready(self, url: str) -> None:
        if url in self.references:
            self._refresh()

    def _refresh(self) -> None:
        self.column.show_images([self.cache.get(url) for url in self.references])
        if len(self.references) == 1:
            url = self.references[0]
            before = self.cache.lookup(url, LARGE_EDGE) or self.cache.get(url, LARGE_EDGE)
            self.wipe.set_images(before or self.cache.peek(url), self.result)
        self._layout_mode()

    def _layout_mode(self) -> None:
        self.column.setVisible(bool(self.references))
        single = len(self.references) == 1
        self.slider_row.setVisible(single)
        wipe = single and self.compare.isChecked()
        self.wipe.setGeometry(self.canvas.rect())
        self.wipe.setVisible(wipe)
        self.slider.setEnabled(wipe)
