"""The generations feed: a uniform-height QListView over GenerationListModel.

Uniform item sizes let Qt lay out thousands of rows without measuring each one; only the
visible cards are painted. A timer repaints (about 30 fps) only while some row is loading,
for the skeleton shimmer. Images can be dragged out (into the attachment strip, or other
apps as files: gui.widgets.drag_out); cards are selected as in a file manager
(gui.widgets.grid_selection), and Ctrl+C / Ctrl+Shift+C copy the images / their URLs.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QMouseEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLabel,
    QListView,
    QVBoxLayout,
    QWidget,
)

from catalog import Options
from gui.widgets import grid_selection, icons, theme
from gui.widgets.drag_out import COPY_URL_KEYS, FilesFor, start_drag
from gui.widgets.generation_delegate import CARD_H, MARGIN, GenerationDelegate, card_layout
from gui.widgets.generation_model import GenerationItem, GenerationListModel, ItemRole
from gui.widgets.thumbnail_cache import ThumbnailCache


class EmptyState(QWidget):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.setSpacing(10)
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel("Create your first image")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-size: 20px; font-weight: 700;")
        self.body = QLabel(
            "Describe what you want to see in the prompt below, pick a model and press "
            "Generate.\nDrop or paste images to edit them. Results of this session appear here."
        )
        self.body.setObjectName("Muted")
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # One line per sentence (both fit the narrowest window); a wrapped label would pick
        # a narrow width of its own and break them up unevenly.
        self.body.setWordWrap(False)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.title)
        layout.addWidget(self.body, 0, Qt.AlignmentFlag.AlignCenter)
        self.restyle()
        theme.on_change(self.restyle)

    def restyle(self) -> None:
        t = theme.current()
        self.icon.setPixmap(icons.glyph_icon("image", 56, t.c("accent")).pixmap(56, 56))
        self.icon.setStyleSheet(
            f"background: {t.rgba('accent', 31)}; border-radius: 36px;"
            " min-width: 72px; min-height: 72px;"
        )


class GenerationGridView(QListView):
    copyImageRequested = Signal(str)  # url: Ctrl+C copies the original
    copyUrlRequested = Signal(list)  # urls: Ctrl+Shift+C

    def __init__(
        self, model: GenerationListModel, cache: ThumbnailCache, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.cache = cache
        self.delegate = GenerationDelegate(cache, self)
        self.setModel(model)
        self.setItemDelegate(self.delegate)
        self.setUniformItemSizes(True)
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.verticalScrollBar().setSingleStep(24)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.files_for: FilesFor | None = None  # set by the controller: drags carry files
        self.setMouseTracking(True)
        # Reached with Tab (a click keeps the prompt's focus); arrows move between cards and
        # main_window's FocusRing shows which one is current.
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self._press: QPoint | None = None
        self.empty = EmptyState(self.viewport())
        self._timer = QTimer(self)
        self._timer.setInterval(33)
        self._timer.timeout.connect(self._tick)
        cache.thumbnailReady.connect(lambda _url: self.viewport().update())
        cache.failed.connect(lambda _url: self.viewport().update())
        cache.retrying.connect(lambda _url: self.viewport().update())
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.dataChanged):
            signal.connect(self._model_changed)
        self._model_changed()

    def generation_model(self) -> GenerationListModel:
        model = self.model()
        assert isinstance(model, GenerationListModel)
        return model

    def _model_changed(self, *_args: object) -> None:
        model = self.generation_model()
        self.empty.setVisible(model.rowCount() == 0)
        if model.has_loading():
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()
        self.viewport().update()

    def _tick(self) -> None:
        self.viewport().update()

    def toast_region(self) -> QRect:
        """Where toasts may sit, in this widget's coordinates: the bottom-left of the
        feed, left of the column where every card has its Copy prompt / Reuse / Download
        (the toast host finds this method; see gui.widgets.toasts)."""
        viewport = self.viewport().geometry()
        probe = GenerationItem(key="", prompt="", options=Options(""), status="done", images=[""])
        card = QRect(0, 0, viewport.width(), CARD_H)
        buttons = card_layout(card, probe, self.delegate.fm_width(self.font())).buttons
        actions_left = min((r.left() for r in buttons.values()), default=viewport.width())
        left = viewport.left() + MARGIN
        return QRect(left, viewport.top(), actions_left - MARGIN - left, viewport.height() - 4)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.empty.setGeometry(self.viewport().rect())

    def _image_at(self, pos: QPoint) -> tuple[GenerationItem, int] | None:
        index: QModelIndex = self.indexAt(pos)
        if not index.isValid():
            return None
        item: GenerationItem = index.data(ItemRole)
        what, i = self.delegate.hit(self.visualRect(index), item, pos)
        return (item, i) if what == "image" else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._press = event.position().toPoint()
        index = self.indexAt(self._press)
        if index.isValid():
            what = self.delegate.hit(self.visualRect(index), index.data(ItemRole), self._press)[0]
            if what in ("", "image"):
                # Selecting a card (not pressing its buttons) takes the keyboard, so Ctrl+C
                # copies the card's image rather than the prompt's text.
                self.setFocus(Qt.FocusReason.MouseFocusReason)
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        images = grid_selection.keyboard_images(self)
        if images and event.keyCombination() == COPY_URL_KEYS:
            self.copyUrlRequested.emit([image.url for image in images])
        elif images and event.matches(QKeySequence.StandardKey.Copy):
            self.copyImageRequested.emit(images[0].url)  # a clipboard holds one image
        else:
            super().keyPressEvent(event)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        painter = QPainter(self.viewport())
        grid_selection.paint_selection(self, painter)
        painter.end()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        index = self.indexAt(pos)
        item = index.data(ItemRole) if index.isValid() else None
        hit = item is not None and self.delegate.hit(self.visualRect(index), item, pos)[0]
        self.viewport().setCursor(
            Qt.CursorShape.PointingHandCursor if hit else Qt.CursorShape.ArrowCursor
        )
        if (
            self._press is not None
            and event.buttons() & Qt.MouseButton.LeftButton
            and (pos - self._press).manhattanLength() >= QApplication.startDragDistance()
        ):
            start = self._image_at(self._press)
            self._press = None
            if start is not None:
                self._start_drag(*start)
                return
        super().mouseMoveEvent(event)

    def _start_drag(self, item: GenerationItem, index: int) -> None:
        images = grid_selection.drag_images(self, item, index)
        start_drag(self, images, self.files_for, self.cache.peek(item.images[index]))
