"""Reference images: a strip of thumbnails with remove, drag-to-reorder and upload progress.

Images arrive from files (dialog or drag from the file manager), the clipboard, or a
generated image dragged from the grid (by its store URL). The prompt bar sets the limit
for the current model: single-image models replace, multi-image models append up to max.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QMimeData,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QImage, QImageReader, QMouseEvent, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListWidget,
    QListWidgetItem,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from gui.widgets import theme

URL_MIME = "application/x-imagegen-image-url"
MAX_FILE_BYTES = 50 * 1024 * 1024
THUMB = 64
_ROLE = Qt.ItemDataRole.UserRole + 10


@dataclass
class Attachment:
    source: object  # Path | (bytes, name) | store URL str — what the engine accepts
    name: str
    thumb: QPixmap
    progress: float | None = None  # 0..1 while uploading


def _scaled_thumb(image: QImage) -> QPixmap:
    scaled = image.scaled(
        THUMB * 2,
        THUMB * 2,
        Qt.AspectRatioMode.KeepAspectRatioByExpanding,
        Qt.TransformationMode.SmoothTransformation,
    )
    pixmap = QPixmap.fromImage(scaled)
    pixmap.setDevicePixelRatio(2.0)
    return pixmap


def read_image_file(path: Path) -> tuple[QPixmap | None, str]:
    """A thumbnail for `path`, or None and a sentence naming the file and the problem."""
    name = path.name
    if not path.is_file():
        return None, f"“{name}” could not be found."
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return None, f"“{name}” is {size / 1e6:.0f} MB; images must be under 50 MB."
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    if not reader.canRead():
        return None, f"“{name}” is not an image (use PNG, JPEG, WebP, GIF or BMP)."
    full = reader.size()
    if full.isValid() and max(full.width(), full.height()) > THUMB * 4:
        reader.setScaledSize(full.scaled(THUMB * 4, THUMB * 4, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        return None, f"“{name}” could not be read: {reader.errorString()}."
    return _scaled_thumb(image), ""


class _Delegate(QStyledItemDelegate):
    def __init__(self, strip: AttachmentStrip) -> None:
        super().__init__(strip)
        self._strip = strip

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        return QSize(THUMB + 8, THUMB + 8)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        t = theme.current()
        att: Attachment = index.data(_ROLE)
        r = QRect(option.rect.left() + 4, option.rect.top() + 4, THUMB, THUMB)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        clip = QPainterPath()
        clip.addRoundedRect(r, 10, 10)
        painter.fillPath(clip, t.c("surface2"))
        painter.setClipPath(clip)
        thumb = att.thumb
        if not thumb.isNull():
            tw = thumb.width() / thumb.devicePixelRatio()
            th = thumb.height() / thumb.devicePixelRatio()
            painter.drawPixmap(int(r.center().x() - tw / 2), int(r.center().y() - th / 2), thumb)
        if att.progress is not None:
            painter.fillRect(r, t.c("bg", 120))
            bar = QRect(r.left() + 6, r.bottom() - 9, int((THUMB - 12) * att.progress), 4)
            painter.fillRect(QRect(r.left() + 6, r.bottom() - 9, THUMB - 12, 4), t.c("border"))
            painter.fillRect(bar, t.c("accent"))
        painter.setClipping(False)
        if self._strip.mentions:
            label = f"@Image{index.row() + 1}"
            lr = QRect(r.left() + 3, r.bottom() - 20, 56, 17)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(t.c("accent"))
            painter.drawRoundedRect(lr, 8, 8)
            font = painter.font()
            font.setPixelSize(10)
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(t.c("accent_text"))
            painter.drawText(lr, Qt.AlignmentFlag.AlignCenter, label)
        close = self._strip.close_rect(option.rect)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(t.c("bg", 220))
        painter.drawEllipse(close)
        painter.setPen(t.c("text"))
        c = close.center()
        painter.drawLine(c.x() - 3, c.y() - 3, c.x() + 3, c.y() + 3)
        painter.drawLine(c.x() + 3, c.y() - 3, c.x() - 3, c.y() + 3)
        painter.restore()


class AttachmentStrip(QListWidget):
    attachmentsChanged = Signal()
    rejected = Signal(str)  # a sentence naming the file and the reason
    removedIndex = Signal(int)  # 1-based number of the removed attachment (for @ImageN)
    mentionRequested = Signal(int)  # 1-based: the user clicked an @ImageN label
    moved = Signal(int, int)  # 0-based (from, to): the user reordered the attachments

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mentions = False
        self._limit = 10
        self._model_label = ""
        self.thumb_for_url: Callable[[str], QPixmap | None] = lambda _url: None
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setWrapping(False)
        # Reordering is done by our dropEvent: in icon mode Qt's own internal move only
        # repositions the thumbnail on screen and leaves the order (what is sent, and what
        # @ImageN means) unchanged. Copy, so the drag never removes the item itself.
        self.setMovement(QListWidget.Movement.Static)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.viewport().setAcceptDrops(True)  # a Static movement turned it off
        self.setAcceptDrops(True)
        self.setSpacing(2)
        self.setItemDelegate(_Delegate(self))
        self.setFixedHeight(THUMB + 16)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

    # -- state ---------------------------------------------------------------------------
    def set_limit(self, limit: int, model_label: str) -> None:
        self._limit, self._model_label = limit, model_label

    @property
    def limit(self) -> int:
        return self._limit

    def attachments(self) -> list[Attachment]:
        return [self.item(i).data(_ROLE) for i in range(self.count())]

    def sources(self) -> tuple[object, ...]:
        return tuple(a.source for a in self.attachments())

    def names(self) -> list[str]:
        return [a.name for a in self.attachments()]

    def set_mentions(self, enabled: bool) -> None:
        self.mentions = enabled
        self.viewport().update()

    def set_progress(self, index: int, fraction: float | None) -> None:
        if 0 <= index < self.count():
            self.item(index).data(_ROLE).progress = fraction
            self.viewport().update()

    def clear_progress(self) -> None:
        for att in self.attachments():
            att.progress = None
        self.viewport().update()

    # -- adding --------------------------------------------------------------------------
    def add_files(self, paths: list[Path]) -> int:
        """Add image files; bad ones are rejected with a sentence each. Returns how many."""
        added = 0
        for path in paths:
            thumb, error = read_image_file(path)
            if thumb is None:
                self.rejected.emit(error)
                continue
            added += self._add(Attachment(path, path.name, thumb))
        return added

    def add_image(self, image: QImage, name: str = "pasted image.png") -> int:
        if image.isNull():
            self.rejected.emit(f"“{name}” is not an image.")
            return 0
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        return self._add(Attachment((bytes(data.data()), name), name, _scaled_thumb(image)))

    def add_url(self, url: str, name: str | None = None) -> int:
        thumb = self.thumb_for_url(url) or QPixmap()
        label = name or url.rsplit("/", 1)[-1] or "image"
        return self._add(Attachment(url, label, thumb))

    def add_mime(self, mime: QMimeData) -> int:
        """Add whatever `mime` carries: a grid image URL, local files, or image data."""
        if mime.hasFormat(URL_MIME):
            url = bytes(mime.data(URL_MIME).data()).decode()
            return self.add_url(url)
        if mime.hasUrls():
            files = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
            remote = [u.toString() for u in mime.urls() if not u.isLocalFile()]
            for url in remote:
                self.rejected.emit(f"“{url}” is a web address; save the image and drop the file.")
            return self.add_files(files)
        if mime.hasImage():
            return self.add_image(QImage(mime.imageData()))
        return 0

    @staticmethod
    def can_accept(mime: QMimeData) -> bool:
        return mime.hasFormat(URL_MIME) or mime.hasUrls() or mime.hasImage()

    def _add(self, att: Attachment) -> int:
        if self._limit <= 0:
            self.rejected.emit(
                f"“{att.name}” was not added: {self._model_label} does not take reference "
                "images. Choose an edit model to use references."
            )
            return 0
        if self._limit == 1 and self.count() >= 1:
            self.clear()  # single-image models: the new image replaces the old one
        elif self.count() >= self._limit:
            self.rejected.emit(
                f"“{att.name}” was not added: {self._model_label} takes at most "
                f"{self._limit} images."
            )
            return 0
        item = QListWidgetItem()
        item.setData(_ROLE, att)
        item.setToolTip(att.name)
        item.setSizeHint(QSize(THUMB + 8, THUMB + 8))
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsDragEnabled)
        self.addItem(item)
        self._changed()
        return 1

    # -- removing and reordering ---------------------------------------------------------
    def remove(self, index: int) -> None:
        if 0 <= index < self.count():
            self.takeItem(index)
            self.removedIndex.emit(index + 1)
            self._changed()

    def trim_to(self, keep: int) -> None:
        while self.count() > keep:
            self.takeItem(self.count() - 1)
        self._changed()

    def move(self, src: int, dst: int) -> None:
        if src == dst or not (0 <= src < self.count() and 0 <= dst < self.count()):
            return
        item = self.takeItem(src)
        self.insertItem(dst, item)
        self.setCurrentRow(dst)
        self.moved.emit(src, dst)
        self._changed()

    def drop_row(self, pos: QPoint, src: int) -> int:
        """Where the attachment at `src` lands when dropped at `pos`: before the first
        thumbnail whose centre is right of the pointer."""
        slot = sum(
            1
            for row in range(self.count())
            if self.visualItemRect(self.item(row)).center().x() < pos.x()
        )
        return slot - 1 if src < slot else slot

    def close_rect(self, item_rect: QRect) -> QRect:
        return QRect(item_rect.left() + THUMB - 14, item_rect.top() + 6, 16, 16)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        item = self.itemAt(pos)
        if item is not None and event.button() == Qt.MouseButton.LeftButton:
            row = self.row(item)
            rect = self.visualItemRect(item)
            if self.close_rect(rect).adjusted(-3, -3, 3, 3).contains(pos):
                self.remove(row)
                return
            label = QRect(rect.left() + 7, rect.top() + THUMB - 16, 56, 17)
            if self.mentions and label.contains(pos):
                self.mentionRequested.emit(row + 1)
                return
        super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.currentRow() >= 0:
            self.remove(self.currentRow())
            return
        super().keyPressEvent(event)

    # -- drops from outside (internal moves are handled by QListWidget) --------------------
    def dragEnterEvent(self, event) -> None:
        if event.source() is self or self.can_accept(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        if event.source() is self:
            src = self.currentRow()
            self.move(src, self.drop_row(event.position().toPoint(), src))
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            self.add_mime(event.mimeData())
            event.acceptProposedAction()

    def _changed(self) -> None:
        self.setVisible(self.count() > 0)
        self.attachmentsChanged.emit()
