"""Fullscreen viewer: every image of the session, Left/Right, Esc, fit and zoom.

Previous / next are also round buttons on the image's left and right edges (they take no
focus, so the arrow keys keep working); an image that cannot be loaded says so and offers
to try again instead of "Loading image…" for ever.

What it downloads follows what it shows (issue 20): an image opens as the server's large
variant (catalog.image_variants.LARGE_EDGE; the neighbours' are fetched ahead for paging),
and the original only when the user zooms past what that variant holds or copies the
image; saving hands the original's URL to the window. While the original loads after a
zoom the variant stays on screen, scaled to the same place. The decoded renditions live in
the thumbnail cache's own bounded budget, released when the carousel closes, so a session
of 4K images never keeps more than a few of them in memory.

Actions that need the engine (saving the original bytes, attaching as a reference,
reusing settings) are signals the window handles. An edit's references are shown beside
it (gui.widgets.before_after); the fitted image drags out as a file (gui.widgets.drag_out).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSizeF, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QPixmap
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from catalog.image_variants import LARGE_EDGE
from gui.widgets import drag_out, theme
from gui.widgets.before_after import BeforeAfterPanel
from gui.widgets.formatting import image_file_name
from gui.widgets.generation_model import GenerationItem
from gui.widgets.image_canvas import ImageCanvas
from gui.widgets.thumbnail_cache import ORIGINAL_EDGE, ThumbnailCache

NAV_SIZE = 44


class CarouselDialog(QDialog):
    saveRequested = Signal(str, str)  # url, suggested file name
    useAsReference = Signal(str)  # url
    reuseSettings = Signal(object)  # GenerationItem
    notice = Signal(str, str)  # text, kind

    def __init__(
        self,
        entries: list[tuple[GenerationItem, int, str]],
        start: int,
        cache: ThumbnailCache,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Image viewer")
        self.setModal(True)
        self.entries = entries
        self.position = max(0, min(start, len(entries) - 1))
        self.cache = cache
        self._copy_wanted: str | None = None  # a copy waits for this URL's original
        self.references: dict[str, tuple[str, ...]] = {}  # an edit's key -> its references
        self.files_for: drag_out.FilesFor | None = None  # set by the window: drags carry files
        self._closed = False
        t = theme.current()
        self.setStyleSheet(f"QDialog {{ background: {'#07080b' if t.dark else '#1b1d24'}; }}")
        self.canvas = ImageCanvas()
        self.canvas.zoomChanged.connect(self._load_original_if_zoomed)
        self.canvas.dragOutRequested.connect(self._drag_out)
        self.before_after = BeforeAfterPanel(cache, self.canvas)
        self.prev_button = self._nav_button("‹", "Previous image (Left arrow)", -1)
        self.next_button = self._nav_button("›", "Next image (Right arrow)", 1)
        self.canvas.installEventFilter(self)  # keeps the buttons on the canvas's edges
        self.counter = QLabel()
        self.counter.setStyleSheet("color: #e9ebf2; font-weight: 700;")
        self.caption = QLabel()
        self.caption.setStyleSheet("color: #b8bdcc;")
        self.caption.setWordWrap(True)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        bar.addWidget(self.counter)
        bar.addStretch(1)
        self.buttons: dict[str, QPushButton] = {}
        for key, label in (
            ("zoom_out", "−"),
            ("fit", "Fit"),
            ("zoom_in", "+"),
            ("reload", "Reload"),
            ("save", "Save as…"),
            ("copy_image", "Copy image"),
            ("copy_prompt", "Copy prompt"),
            ("reference", "Use as reference"),
            ("reuse", "Reuse settings"),
            ("close", "Close"),
        ):
            button = QPushButton(label)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, k=key: self.trigger(k))
            self.buttons[key] = button
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(10)
        layout.addLayout(bar)
        layout.addWidget(self.before_after, 1)
        layout.addWidget(self.caption)
        cache.thumbnailReady.connect(self._on_ready)
        cache.failed.connect(self._on_ready)
        self._listening = True
        self.finished.connect(lambda _result: self._release())
        self._show_current(reset=True)

    def _release(self) -> None:
        self._closed = True
        self.before_after.release()
        self.cache.release_large()  # the large renditions' memory goes back with the viewer
        if self._copy_wanted is None:  # else the copy the user asked for still lands
            self._disconnect()

    def _disconnect(self) -> None:
        if self._listening:  # finished may come twice (reject after accept)
            self._listening = False
            self.cache.thumbnailReady.disconnect(self._on_ready)
            self.cache.failed.disconnect(self._on_ready)

    def _nav_button(self, glyph: str, tip: str, step: int) -> QPushButton:
        button = QPushButton(glyph, self.canvas)
        button.setObjectName("CarouselNav")
        button.setToolTip(tip)
        button.setAccessibleName(tip.split(" (")[0])
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setFixedSize(NAV_SIZE, NAV_SIZE)
        button.setStyleSheet(
            f"QPushButton {{ background: rgba(0, 0, 0, 150); color: #f4f5f8; border: none;"
            f" border-radius: {NAV_SIZE // 2}px; font-size: 28px; padding: 0 0 4px 0; }}"
            " QPushButton:hover { background: rgba(0, 0, 0, 200); }"
            " QPushButton:disabled { color: rgba(244, 245, 248, 70); }"
        )
        button.clicked.connect(lambda: self.go(step))
        return button

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.canvas and event.type() == QEvent.Type.Resize:
            self._place_nav()
        return super().eventFilter(watched, event)

    def _place_nav(self) -> None:
        y = (self.canvas.height() - NAV_SIZE) // 2
        self.prev_button.move(12, y)
        self.next_button.move(self.canvas.width() - NAV_SIZE - 12, y)

    @property
    def current(self) -> tuple[GenerationItem, int, str]:
        return self.entries[self.position]

    def go(self, step: int) -> None:
        if not self.entries:
            return
        self.position = (self.position + step) % len(self.entries)
        self._show_current(reset=True)

    def trigger(self, key: str) -> None:
        item, index, url = self.current
        if key == "zoom_in":
            self.canvas.zoom_by(1.25)
        elif key == "zoom_out":
            self.canvas.zoom_by(1 / 1.25)
        elif key == "fit":
            self.canvas.fit()
        elif key == "reload":
            if self.cache.retry(url):
                self._show_current(reset=False)
        elif key == "save":
            self.saveRequested.emit(
                url, image_file_name(f"imagegen-{item.key[:8]}-{index + 1}", url)
            )
        elif key == "copy_image":
            self._copy_original(url)
        elif key == "copy_url":
            QGuiApplication.clipboard().setText(url)
            self.notice.emit("Image URL copied.", "success")
        elif key == "copy_prompt":
            QGuiApplication.clipboard().setText(item.prompt)
            self.notice.emit("Prompt copied.", "success")
        elif key == "reference":
            self.useAsReference.emit(url)
            self.accept()
        elif key == "reuse":
            self.reuseSettings.emit(item)
            self.accept()
        elif key == "close":
            self.reject()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if event.keyCombination() == drag_out.COPY_URL_KEYS:
            self.trigger("copy_url")
        elif event.keyCombination() == drag_out.COPY_IMAGE_KEYS:
            self.trigger("copy_image")
        elif key == Qt.Key.Key_C and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.before_after.toggle_compare()
        elif key == Qt.Key.Key_Left:
            self.go(-1)
        elif key == Qt.Key.Key_Right:
            self.go(1)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.trigger("zoom_in")
        elif key == Qt.Key.Key_Minus:
            self.trigger("zoom_out")
        elif key == Qt.Key.Key_0:
            self.trigger("fit")
        elif key == Qt.Key.Key_R:
            self.trigger("reload")
        elif key == Qt.Key.Key_Escape:
            self.reject()
        else:
            super().keyPressEvent(event)

    def _show_current(self, reset: bool) -> None:
        if not self.entries:
            return
        item, index, url = self.current
        self.counter.setText(f"{self.position + 1} / {len(self.entries)}")
        self.caption.setText(f"{item.prompt}\n{item.model_label}  ·  image {index + 1}")
        # The best rendition at hand: the original (zoomed or copied before), else the large
        # variant (loaded now if need be), else the grid's thumbnail until it arrives.
        original = self.cache.lookup(url, ORIGINAL_EDGE)
        large = None if original is not None else self.cache.get(url, LARGE_EDGE)
        pixmap = original or large or self.cache.peek(url)
        self.canvas.failed = pixmap is None and self.cache.is_failed(url)
        self.canvas.set_pixmap(pixmap, reset, _layout_size(large or pixmap))
        self.before_after.show_for(self.references.get(item.key, ()), pixmap)
        self.buttons["reload"].setVisible(self.canvas.failed)
        several = len(self.entries) > 1
        self.prev_button.setEnabled(several)
        self.next_button.setEnabled(several)
        if several and (original or large) is not None:
            self._prefetch_neighbour()
        self._load_original_if_zoomed()

    def set_references(self, references: dict[str, tuple[str, ...]]) -> None:
        self.references = references
        self._show_current(reset=False)

    def _drag_out(self) -> None:
        item, index, _url = self.current
        drag_out.start_drag(
            self, [drag_out.dragged_image(item, index)], self.files_for, self.canvas.pixmap
        )

    def _prefetch_neighbour(self) -> None:
        """Paging is instant when the neighbours' variants are already here. Asked for only
        once the current image is shown, and one at a time (the next, then the previous): on
        a slow link three downloads at once made the image the user opened wait for the
        two they had not (the gallery benchmark's carousel figure)."""
        current = self.current[2]
        if self.cache.lookup(current, LARGE_EDGE) is None:
            if self.cache.lookup(current, ORIGINAL_EDGE) is None:
                return
        for step in (1, -1):
            neighbour = self.entries[(self.position + step) % len(self.entries)][2]
            if self.cache.lookup(neighbour, LARGE_EDGE) is not None:
                continue
            if not self.cache.is_pending(neighbour, LARGE_EDGE):
                self.cache.get(neighbour, LARGE_EDGE)
            return  # the next one waits until this arrives (_on_ready shows and asks again)

    def _load_original_if_zoomed(self) -> None:
        """Ask for the original once the user zoomed past the detail the large variant
        holds. Not before the variant is known: a variant smaller than LARGE_EDGE is the
        whole image, re-encoded, and its original has nothing more to show."""
        if not self.entries or self.canvas.zoom is None:
            return
        url = self.current[2]
        large = self.cache.lookup(url, LARGE_EDGE)
        if large is None or self.cache.lookup(url, ORIGINAL_EDGE) is not None:
            return
        if max(large.width(), large.height()) < LARGE_EDGE:
            return
        if self.canvas.pixmap is large and self.canvas.magnification() > 1.0 + 1e-6:
            self.cache.get(url, ORIGINAL_EDGE)

    def _copy_original(self, url: str) -> None:
        """Copy the original (decoded), fetching it first if it is not in memory yet."""
        original = self.cache.lookup(url, ORIGINAL_EDGE)
        if original is not None:
            QGuiApplication.clipboard().setPixmap(original)
            self.notice.emit("Image copied to the clipboard.", "success")
            return
        self._copy_wanted = url
        if self.cache.is_failed(url):
            self.cache.retry(url)  # the user asks for it: try again now
        self.cache.get(url, ORIGINAL_EDGE)
        self.notice.emit("Copying the full-size image…", "info")

    def _finish_copy(self, url: str) -> None:
        original = self.cache.lookup(url, ORIGINAL_EDGE)
        if original is not None:
            QGuiApplication.clipboard().setPixmap(original)
            self.notice.emit("Image copied to the clipboard.", "success")
        elif self.cache.is_failed(url) and not self.cache.is_pending(url, ORIGINAL_EDGE):
            self.notice.emit(
                "The full-size image could not be loaded, so nothing was copied.", "error"
            )
        else:
            return  # still loading (another rendition of this URL arrived)
        self._copy_wanted = None
        if self._closed:
            self._disconnect()

    def _on_ready(self, url: str) -> None:
        if url == self._copy_wanted:
            self._finish_copy(url)
        if self._closed or not self.entries:
            return
        if url == self.current[2]:
            self._show_current(reset=False)
        elif len(self.entries) > 1:
            self._prefetch_neighbour()  # a neighbour arrived: the other one may go now


def _layout_size(pixmap: QPixmap | None) -> QSizeF | None:
    """The size the image is laid out at: the large variant's (an original larger than the
    variant is laid out at the variant's size: zooming shows its detail, not a jump)."""
    if pixmap is None or pixmap.isNull():
        return None
    size = pixmap.deviceIndependentSize()
    if max(size.width(), size.height()) <= LARGE_EDGE:
        return size
    return size.scaled(QSizeF(LARGE_EDGE, LARGE_EDGE), Qt.AspectRatioMode.KeepAspectRatio)
