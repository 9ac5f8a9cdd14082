"""Reference images: a strip of thumbnails with remove, drag-to-reorder and upload progress.

Images arrive from files (dialog or drag from the file manager), the clipboard, or a
generated image dragged from the grid (by its store URL). The prompt bar sets the limit
for the current model: single-image models replace, multi-image models append up to max.

Switching to a model that takes fewer references never throws any away: the first `limit`
thumbnails are sent, the rest are kept (dimmed, "Not sent") and are sent again as soon as
a model that takes them is chosen. `count()`, `attachments()` and `sources()` are what is
sent; `kept()` is what waits.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QCoreApplication,
    QIODevice,
    QMimeData,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QImage, QMouseEvent, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from gui.widgets.attachment_delegate import (
    ATTACHMENT_ROLE,
    THUMB,
    Attachment,
    AttachmentDelegate,
    close_rect,
)
from gui.widgets.attachment_reader import AttachmentReader
from gui.widgets.image_probe import header_problem
from gui.widgets.reference_files import ReferenceFolder, choose_reference_files

__all__ = ["URL_MIME", "Attachment", "AttachmentStrip", "file_problem"]

URL_MIME = "application/x-imagegen-image-url"
MAX_FILE_BYTES = 50 * 1024 * 1024
_ROLE = ATTACHMENT_ROLE


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


def file_problem(path: Path) -> str:
    """What is wrong with `path` as a reference, from its size and header alone ("" when
    nothing shows yet): cheap, so the strip answers at once. Damage further in shows when
    the thumbnail is decoded (off the GUI thread, `AttachmentReader`)."""
    name = path.name
    if not path.is_file():
        return f"“{name}” could not be found."
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return f"“{name}” is {size / 1e6:.0f} MB; images must be under 50 MB."
    return header_problem(path)


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
        self.folder = ReferenceFolder()  # where the file dialog starts
        self._reader = AttachmentReader(THUMB * 4, self)
        self._reader.done.connect(self._thumbnail_read)
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
        self.setItemDelegate(AttachmentDelegate(self, self))
        self.setFixedHeight(THUMB + 16)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

    # -- state ---------------------------------------------------------------------------
    def set_limit(self, limit: int, model_label: str) -> None:
        """The current model takes `limit` references: the first `limit` are sent, any
        others are kept but not sent (and come back when a model takes them again)."""
        self._limit, self._model_label = limit, model_label
        if self._park_beyond(limit):
            self._changed()

    @property
    def limit(self) -> int:
        return self._limit

    def count(self) -> int:
        """How many references are sent (kept ones are shown, but not counted)."""
        return sum(1 for a in self._all() if not a.parked)

    def rows(self) -> int:
        """Every thumbnail shown, sent or kept."""
        return super().count()

    def attachments(self) -> list[Attachment]:
        """The references sent with the request, in order."""
        return [a for a in self._all() if not a.parked]

    def kept(self) -> list[Attachment]:
        """References kept but not sent: the current model takes fewer."""
        return [a for a in self._all() if a.parked]

    def _all(self) -> list[Attachment]:
        return [self.item(i).data(_ROLE) for i in range(self.rows())]

    def _park_beyond(self, keep: int) -> bool:
        """Send the first `keep` thumbnails and keep the rest; True when any changed."""
        changed = False
        for row in range(self.rows()):
            item = self.item(row)
            att: Attachment = item.data(_ROLE)
            parked = row >= keep
            if att.parked != parked:
                att.parked, changed = parked, True
            item.setToolTip(self._tooltip(att))
        if changed:
            self.viewport().update()
        return changed

    def _tooltip(self, att: Attachment) -> str:
        if not att.parked:
            return att.name
        if self._limit <= 0:
            why = f"{self._model_label} does not take reference images"
        else:
            why = f"{self._model_label} takes at most {_images(self._limit)}"
        return (
            f"{att.name} — not sent: {why}. It is kept, and sent again when you choose a "
            "model that takes it (or drag it before the ones that are sent)."
        )

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
        """Add image files; bad ones are rejected with a sentence each. Returns how many.

        Each is shown at once and its thumbnail follows when decoded off the GUI thread
        (a big PNG takes seconds); a file found damaged then is removed, with its
        sentence (`rejected`)."""
        added = 0
        for path in paths:
            if error := file_problem(path):
                self.rejected.emit(error)
                continue
            att = Attachment(path, path.name, QPixmap())
            if self._add(att):
                added += 1
                # Qt reads what fits its allocation limit; larger (16-bit 8000 px) or
                # unusual files go through Pillow with the engine's rules.
                self._reader.read(path, att)
        return added

    def _thumbnail_read(self, ticket: object, image: QImage, error: str) -> None:
        row = next((r for r in range(self.rows()) if self.item(r).data(_ROLE) is ticket), None)
        if row is None:
            return  # removed meanwhile
        att: Attachment = self.item(row).data(_ROLE)
        if image.isNull():
            self.remove(row)
            self.rejected.emit(error or f"“{att.name}” could not be read.")
            return
        att.thumb = _scaled_thumb(image)
        self.viewport().update()

    def wait_for_thumbnails(self, timeout_ms: int = 30_000) -> bool:
        """Block until every thumbnail in decoding is read, then deliver them (tests)."""
        done = self._reader.wait(timeout_ms)
        QCoreApplication.sendPostedEvents(self._reader, 0)
        return done

    def browse(self) -> int:
        """Add images chosen in the file dialog, which starts in the folder references
        last came from (else Pictures, else home). Returns how many were added."""
        return self.add_files(choose_reference_files(self.window(), self.folder))

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
            self.takeItem(0)  # single-image models: the new image replaces the one sent
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
        self.insertItem(self.count(), item)  # after those sent, before those kept
        self._park_beyond(self._limit)
        self._changed()
        return 1

    # -- removing and reordering ---------------------------------------------------------
    def remove(self, index: int) -> None:
        """Remove the thumbnail at row `index` (sent or kept); a kept one moves up into
        the freed place when the model takes it."""
        if 0 <= index < self.rows():
            sent = not self.item(index).data(_ROLE).parked
            self.takeItem(index)
            if sent:
                self.removedIndex.emit(index + 1)
            self._park_beyond(self._limit)
            self._changed()

    def trim_to(self, keep: int) -> None:
        """Send only the first `keep`: the others are kept, dimmed, not sent."""
        self._park_beyond(keep)
        self._changed()

    def move(self, src: int, dst: int) -> None:
        if src == dst or not (0 <= src < self.rows() and 0 <= dst < self.rows()):
            return
        item = self.takeItem(src)
        self.insertItem(dst, item)
        self.setCurrentRow(dst)
        self._park_beyond(self._limit)
        self.moved.emit(src, dst)
        self._changed()

    def drop_row(self, pos: QPoint, src: int) -> int:
        """Where the attachment at `src` lands when dropped at `pos`: before the first
        thumbnail whose centre is right of the pointer."""
        slot = sum(
            1
            for row in range(self.rows())
            if self.visualItemRect(self.item(row)).center().x() < pos.x()
        )
        return slot - 1 if src < slot else slot

    def close_rect(self, item_rect: QRect) -> QRect:
        return close_rect(item_rect)

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
            sent = not item.data(_ROLE).parked
            if self.mentions and sent and label.contains(pos):
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
        self.setVisible(self.rows() > 0)
        self.attachmentsChanged.emit()


def _images(n: int) -> str:
    return "1 image" if n == 1 else f"{n} images"
