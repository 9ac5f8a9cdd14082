"""Dragging generated images out of the app as real files, and copying them.

A drag carries, for every image: the local file of its original (full resolution, named
from the prompt; see gui.engine.exports), so the desktop, a file manager or a browser's
upload field receive a file; the image itself (for a single image), for applications that
take image data; the store URL as text; and the app's own URL format first, so a drop on
the prompt bar is still recognised as a reference (gui.widgets.attachment_strip reads it
before anything else).

The files come from the window's controller (``FilesFor``, set on the grid and the
carousel): widgets never fetch. Without one (a widget shown alone) the drag carries the
store URLs, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QDrag, QImage, QPixmap
from PySide6.QtWidgets import QWidget

from gui.widgets.attachment_strip import URL_MIME
from gui.widgets.generation_model import GenerationItem

DRAG_ICON_EDGE = 96
# Ctrl+C copies an image, Ctrl+Shift+C its URL (the grid's and the carousel's keys).
COPY_IMAGE_KEYS = Qt.KeyboardModifier.ControlModifier | Qt.Key.Key_C
COPY_URL_KEYS = (
    Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier | Qt.Key.Key_C
)


@dataclass(frozen=True)
class DraggedImage:
    url: str
    prompt: str
    number: int | None = None  # the image's number when its generation has several


# The local files for these images (written now, or being written while the pointer
# travels); the window's controller provides it.
FilesFor = Callable[[Sequence[DraggedImage]], list[Path]]


def dragged_image(item: GenerationItem, index: int) -> DraggedImage:
    number = index + 1 if len(item.images) > 1 else None
    return DraggedImage(item.images[index], item.prompt, number)


class _FileImageMime(QMimeData):
    """Offers the image data of a local file, decoded only when a drop target asks for it
    (Qt's delayed-data pattern): decoding a 4K original when the drag starts held the GUI
    thread for as long as the decode took, for targets that mostly take the file."""

    IMAGE = "application/x-qt-image"

    def __init__(self, path: Path | None) -> None:
        super().__init__()
        self.path = path

    def hasFormat(self, mimetype: str) -> bool:
        return (mimetype == self.IMAGE and self.path is not None) or super().hasFormat(mimetype)

    def formats(self) -> list[str]:
        extra = [self.IMAGE] if self.path is not None else []
        return [*super().formats(), *extra]

    def retrieveData(self, mimetype: str, preferred: object) -> object:
        if mimetype == self.IMAGE and self.path is not None and self.path.is_file():
            image = QImage(str(self.path))
            if not image.isNull():
                return image
        return super().retrieveData(mimetype, preferred)  # type: ignore[arg-type]


def drag_mime(images: Sequence[DraggedImage], files: Sequence[Path]) -> QMimeData:
    """What a drag (or a copy) of ``images`` carries; ``files`` are their local files."""
    mime = _FileImageMime(files[0] if len(files) == 1 else None)
    mime.setData(URL_MIME, images[0].url.encode())
    if files:
        mime.setUrls([QUrl.fromLocalFile(str(path)) for path in files])
    else:
        mime.setUrls([QUrl(image.url) for image in images])
    mime.setText("\n".join(image.url for image in images))
    return mime


def start_drag(
    source: QWidget,
    images: Sequence[DraggedImage],
    files_for: FilesFor | None,
    pixmap: QPixmap | None,
) -> Qt.DropAction:
    """Run the drag of ``images`` (blocks until the drop, as QDrag.exec does)."""
    files = files_for(images) if files_for is not None else []
    drag = QDrag(source)
    drag.setMimeData(drag_mime(images, files))
    if pixmap is not None and not pixmap.isNull():
        drag.setPixmap(
            pixmap.scaled(
                DRAG_ICON_EDGE,
                DRAG_ICON_EDGE,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
    return drag.exec(Qt.DropAction.CopyAction)
