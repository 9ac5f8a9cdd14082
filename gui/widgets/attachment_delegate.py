"""How one reference thumbnail of the attachment strip is painted.

Split from `attachment_strip` (which owns the list and its rules). A reference the current
model does not take is kept, not sent: painted dimmed with a "Not sent" label, and its
tooltip says why and how to send it again.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QWidget

from gui.widgets import theme

THUMB = 64
ATTACHMENT_ROLE = Qt.ItemDataRole.UserRole + 10
NOT_SENT = "Not sent"
_DIMMED = 0.35


@dataclass
class Attachment:
    source: object  # Path | (bytes, name) | store URL str — what the engine accepts
    name: str
    thumb: QPixmap
    progress: float | None = None  # 0..1 while uploading
    # Kept but not sent: the current model takes fewer references than are attached.
    parked: bool = False


def close_rect(item_rect: QRect) -> QRect:
    """The thumbnail's remove button."""
    return QRect(item_rect.left() + THUMB - 14, item_rect.top() + 6, 16, 16)


Index = QModelIndex | QPersistentModelIndex


class AttachmentDelegate(QStyledItemDelegate):
    def __init__(self, parent: QWidget, mentions: object) -> None:
        """``mentions``: the strip, whose ``mentions`` flag says whether @ImageN labels show."""
        super().__init__(parent)
        self._owner = mentions

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(THUMB + 8, THUMB + 8)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        att: Attachment = index.data(ATTACHMENT_ROLE)
        r = QRect(option.rect.left() + 4, option.rect.top() + 4, THUMB, THUMB)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._thumbnail(painter, r, att)
        if att.parked:
            self._label(painter, QRect(r.left() + 3, r.bottom() - 20, THUMB - 6, 17), NOT_SENT)
        elif getattr(self._owner, "mentions", False):
            label = QRect(r.left() + 3, r.bottom() - 20, 56, 17)
            self._label(painter, label, f"@Image{index.row() + 1}")
        self._close_button(painter, close_rect(option.rect))
        painter.restore()

    @staticmethod
    def _thumbnail(painter: QPainter, r: QRect, att: Attachment) -> None:
        t = theme.current()
        clip = QPainterPath()
        clip.addRoundedRect(r, 10, 10)
        painter.fillPath(clip, t.c("surface2"))
        painter.setClipPath(clip)
        if att.parked:
            painter.setOpacity(_DIMMED)
        thumb = att.thumb
        if not thumb.isNull():
            tw = thumb.width() / thumb.devicePixelRatio()
            th = thumb.height() / thumb.devicePixelRatio()
            painter.drawPixmap(int(r.center().x() - tw / 2), int(r.center().y() - th / 2), thumb)
        painter.setOpacity(1.0)
        if att.parked:
            pen = painter.pen()
            painter.setPen(t.c("muted"))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(r.adjusted(1, 1, -1, -1), 10, 10)
            painter.setPen(pen)
        if att.progress is not None:
            painter.fillRect(r, t.c("bg", 120))
            bar = QRect(r.left() + 6, r.bottom() - 9, int((THUMB - 12) * att.progress), 4)
            painter.fillRect(QRect(r.left() + 6, r.bottom() - 9, THUMB - 12, 4), t.c("border"))
            painter.fillRect(bar, t.c("accent"))
        painter.setClipping(False)

    @staticmethod
    def _label(painter: QPainter, rect: QRect, text: str) -> None:
        t = theme.current()
        parked = text == NOT_SENT
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(t.c("surface2") if parked else t.c("accent"))
        painter.drawRoundedRect(rect, 8, 8)
        font = painter.font()
        font.setPixelSize(10)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(t.c("text") if parked else t.c("accent_text"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    @staticmethod
    def _close_button(painter: QPainter, close: QRect) -> None:
        t = theme.current()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(t.c("bg", 220))
        painter.drawEllipse(close)
        painter.setPen(t.c("text"))
        c = close.center()
        painter.drawLine(c.x() - 3, c.y() - 3, c.x() + 3, c.y() + 3)
        painter.drawLine(c.x() + 3, c.y() - 3, c.x() - 3, c.y() + 3)
