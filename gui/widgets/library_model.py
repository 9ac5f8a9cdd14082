"""The library's rows: a list model over the engine's search results, and their delegate
(thumbnail, prompt, then model · session · date)."""

from __future__ import annotations

import time

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import QFont, QPainter, QPainterPath
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from gui.engine.library_index import LibraryEntry
from gui.widgets import icons, theme
from gui.widgets.thumbnail_cache import ThumbnailCache

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 40
ROW_HEIGHT = 64
THUMB_EDGE = 128  # decoded size of the 48 px thumbnail (covers 2.5x screens)

Index = QModelIndex | QPersistentModelIndex


class LibraryListModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.entries: list[LibraryEntry] = []
        self.favorites_only = False

    def set_entries(self, entries: list[LibraryEntry], favorites_only: bool) -> None:
        self.beginResetModel()
        self.entries = entries
        self.favorites_only = favorites_only
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self.entries):
            return None
        entry = self.entries[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return entry.generation.prompt
        if role == ENTRY_ROLE:
            return entry
        return None

    def thumbnail_url(self, entry: LibraryEntry) -> str | None:
        urls = entry.favorite_urls if self.favorites_only else entry.generation.image_urls
        return urls[0] if urls else None


def detail_line(entry: LibraryEntry) -> str:
    g = entry.generation
    day = time.strftime("%d %b %Y", time.localtime(g.created_at)) if g.created_at else ""
    parts = [g.model_label or g.model, entry.session_title, day]
    if g.error:
        parts.append("failed")
    return " · ".join(p for p in parts if p)


class LibraryDelegate(QStyledItemDelegate):
    def __init__(self, model: LibraryListModel, cache: ThumbnailCache, parent: QWidget) -> None:
        super().__init__(parent)
        self.model = model
        self.cache = cache

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(option.rect.width(), ROW_HEIGHT)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        entry: LibraryEntry = index.data(ENTRY_ROLE)
        t = theme.current()
        r = option.rect.adjusted(6, 3, -6, -3)
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if option.state & QStyle.StateFlag.State_Selected:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(t.c("accent", 45))
            p.drawRoundedRect(r, 10, 10)
        thumb = QRect(r.left() + 6, r.top() + 5, 48, 48)
        clip = QPainterPath()
        clip.addRoundedRect(thumb, 8, 8)
        p.setClipPath(clip)
        url = self.model.thumbnail_url(entry)
        pixmap = self.cache.get(url, THUMB_EDGE) if url else None
        if pixmap is not None:
            size = pixmap.size().scaled(thumb.size(), Qt.AspectRatioMode.KeepAspectRatioByExpanding)
            target = QRect(QPoint(0, 0), size)
            target.moveCenter(thumb.center())
            p.drawPixmap(target, pixmap)
        else:
            p.fillRect(thumb, t.c("skeleton"))
            glyph = icons.glyph_icon("image", 18, t.c("muted")).pixmap(18, 18)
            p.drawPixmap(thumb.left() + 15, thumb.top() + 15, glyph)
        p.setClipping(False)
        x = thumb.right() + 12
        width = r.right() - x - 8
        font = QFont(option.font)
        font.setPixelSize(13)
        p.setFont(font)
        p.setPen(t.c("text"))
        prompt = entry.generation.prompt.replace("\n", " ") or "(no prompt)"
        elided = p.fontMetrics().elidedText(prompt, Qt.TextElideMode.ElideRight, width)
        p.drawText(QPoint(x, r.top() + 24), elided)
        font.setPixelSize(11)
        p.setFont(font)
        p.setPen(t.c("muted"))
        detail = p.fontMetrics().elidedText(detail_line(entry), Qt.TextElideMode.ElideRight, width)
        p.drawText(QPoint(x, r.top() + 44), detail)
        if entry.is_favorite:
            p.setPen(t.c("accent"))
            p.drawText(QPoint(r.right() - 18, r.top() + 20), "♥")
        p.restore()
