"""Paints one generation as a card: header (prompt, model, time, actions) and its tiles.

Loading tiles are skeletons with a moving shimmer and the live status (fitted, wrapped or
in the tooltip: `tile_paint`), and the card offers Cancel; failed or cancelled ones are a
panel with the reason and Retry; each image carries a favourite heart, and an image whose
thumbnail could not be loaded is a broken tile that reloads on click. Geometry comes from
`card_layout`, shared by painting and hit-testing so clicks always land on what is drawn.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QToolTip, QWidget

from catalog import MODELS
from gui.widgets import icons, theme, tile_paint
from gui.widgets.compare_mark import GroupLookup, no_group, paint_group_mark
from gui.widgets.formatting import ratio_of, relative_time
from gui.widgets.generation_model import GenerationItem, ItemRole
from gui.widgets.thumbnail_cache import DISK_MAX_EDGE, ThumbnailCache

MARGIN = 8
PAD = 16
HEADER_H = 44
TILE_H = 210
GAP = 10
CARD_H = 2 * MARGIN + 2 * PAD + HEADER_H + TILE_H
# Thumbnails are decoded for the tile's long side in device pixels (rounded up to 64): a
# 512 px decode for a 210 px tile cost 6x the pixels to decode, keep and scale every paint.
# The same number picks what is downloaded: the fetcher asks for the server's smallest
# variant covering it (catalog.image_variants.edge_for), never the original.
THUMB_EDGE = 256


def thumb_edge(dpr: float, ratio: float = 1.0) -> int:
    """The decode (and variant) edge for a tile of aspect ``ratio`` (width / height) at
    ``dpr``. From the tile's full size, not its squeezed one, so resizing the window does
    not ask for another rendition."""
    long_side = TILE_H * max(1.0, ratio)
    # Capped at the cache's small renditions: a grid tile stays in the grid's memory budget
    # and never asks for the original (a 21:9 tile on a 2x screen is a little soft).
    return min(DISK_MAX_EDGE, max(THUMB_EDGE, -(-int(long_side * dpr) // 64) * 64))


_ACTIONS_DONE = (("copy", "Copy prompt"), ("reuse", "Reuse"), ("download", "Download"))
_LABELS = dict((*_ACTIONS_DONE, ("retry", "Retry"), ("cancel", "Cancel")))
HEART = 26


@dataclass
class CardLayout:
    card: QRect
    tiles: list[QRect]
    buttons: dict[str, QRect]
    error_panel: QRect | None = None
    retry: QRect | None = None
    hearts: list[QRect] = field(default_factory=list)  # favourite toggles, one per image


def _tile_rects(item: GenerationItem, area: QRect) -> list[QRect]:
    n = max(1, len(item.images) if item.status == "done" else item.options.num_images)
    r = ratio_of(item.options.aspect_ratio)
    width = TILE_H * r
    scale = min(1.0, (area.width() - GAP * (n - 1)) / max(1.0, width * n))
    w, h = int(width * scale), int(TILE_H * scale)
    return [QRect(area.left() + i * (w + GAP), area.top(), w, h) for i in range(n)]


def card_layout(rect: QRect, item: GenerationItem, fm_width: int = 7) -> CardLayout:
    card = rect.adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
    area = QRect(card.left() + PAD, card.top() + PAD + HEADER_H, card.width() - 2 * PAD, TILE_H)
    names = [("copy", "Copy prompt")]
    if item.status == "done":
        names = list(_ACTIONS_DONE)
    elif item.cancellable:
        names.append(("cancel", "Cancel"))
    buttons: dict[str, QRect] = {}
    x = card.right() - PAD
    for key, label in reversed(names):
        w = len(label) * fm_width + 22
        x -= w
        buttons[key] = QRect(x, card.top() + PAD + 2, w, 26)
        x -= 6
    if item.status in ("error", "cancelled"):
        panel = QRect(area.left(), area.top(), min(area.width(), 560), TILE_H)
        # Badge, title, up to three lines of reason and the button, centred as one block.
        retry = QRect(panel.left() + 64, panel.top() + 134, 92, 32) if item.retryable else None
        return CardLayout(card, [], buttons, panel, retry)
    tiles = _tile_rects(item, area)
    hearts = [
        QRect(t.right() - HEART - 7, t.top() + 8, HEART, HEART)
        for t in tiles[: len(item.images) if item.status == "done" else 0]
    ]
    return CardLayout(card, tiles, buttons, hearts=hearts)


class GenerationDelegate(QStyledItemDelegate):
    actionTriggered = Signal(str, str)  # key, action: copy | reuse | download | retry | cancel
    favoriteToggled = Signal(str, int)  # key, image index
    imageClicked = Signal(str, int)  # key, image index

    def __init__(self, cache: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.now = time.time  # replaced by tests/screenshots for stable output
        self.group_of: GroupLookup = no_group  # a comparison's rows (compare_flow.py)

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return QSize(max(320, option.rect.width()), CARD_H)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        item: GenerationItem | None = index.data(ItemRole)
        if item is None:
            return
        t = theme.current()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        layout = card_layout(option.rect, item, self._fm_width(option))
        painter.setPen(QPen(t.c("border"), 1))
        painter.setBrush(t.c("surface"))
        painter.drawRoundedRect(layout.card, 16, 16)
        self._paint_header(painter, option, item, layout)
        mark = self.group_of(item)
        if mark is not None:
            paint_group_mark(painter, option.rect, layout.card, mark, option.font, PAD, HEADER_H)
        if layout.error_panel is not None:
            self._paint_error(painter, option, item, layout)
        else:
            for i, tile in enumerate(layout.tiles):
                url = item.images[i] if i < len(item.images) else None
                self._paint_tile(painter, option, item, tile, url)
            if item.loading and layout.tiles:
                font = tile_paint.status_font(option.font)
                status = self.status_layout(layout, item, font)
                tile_paint.paint_status(painter, status, font, self.now() * 360 * 1.2)
            for url, heart in zip(item.images, layout.hearts, strict=False):
                self._heart(painter, heart, url in item.favorites)
        painter.restore()

    # -- pieces -----------------------------------------------------------------------------
    def _fm_width(self, option: QStyleOptionViewItem) -> int:
        return self.fm_width(option.font)

    @staticmethod
    def fm_width(base: QFont) -> int:
        """The character width the header's action buttons are sized with."""
        font = QFont(base)
        font.setPixelSize(12)
        return max(6, QFontMetrics(font).averageCharWidth())

    def _paint_header(
        self,
        p: QPainter,
        option: QStyleOptionViewItem,
        item: GenerationItem,
        lay: CardLayout,
    ) -> None:
        t = theme.current()
        left = lay.card.left() + PAD
        top = lay.card.top() + PAD
        right_limit = min((r.left() for r in lay.buttons.values()), default=lay.card.right()) - 12
        title = QFont(option.font)
        title.setPixelSize(14)
        title.setWeight(QFont.Weight.DemiBold)
        p.setFont(title)
        p.setPen(t.c("text"))
        prompt = " ".join(item.prompt.split())
        prompt = p.fontMetrics().elidedText(prompt, Qt.TextElideMode.ElideRight, right_limit - left)
        p.drawText(QPoint(left, top + 14), prompt)
        spec = MODELS.get(item.options.model)
        if spec is not None:
            p.drawPixmap(left, top + 24, icons.logo_pixmap(spec.logo, spec.company, 16))
        meta = QFont(option.font)
        meta.setPixelSize(12)
        p.setFont(meta)
        p.setPen(t.c("muted"))
        bits = [item.model_label]
        if item.options.aspect_ratio:
            bits.append(item.options.aspect_ratio)
        bits.append(relative_time(item.created_at, self.now()))
        p.drawText(QPoint(left + 22, top + 37), "  ·  ".join(bits))
        for key, rect in lay.buttons.items():
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(t.c("surface2"))
            p.drawRoundedRect(rect, 13, 13)
            p.setPen(t.c("danger") if key == "cancel" else t.c("text"))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, _LABELS[key])

    def _heart(self, p: QPainter, rect: QRect, on: bool) -> None:
        t = theme.current()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 110))
        p.drawEllipse(rect)
        font = QFont(p.font())
        font.setPixelSize(15)
        p.setFont(font)
        p.setPen(t.c("danger") if on else QColor(255, 255, 255, 230))
        p.drawText(rect.adjusted(0, 1, 0, 0), Qt.AlignmentFlag.AlignCenter, "♥" if on else "♡")

    def _paint_tile(
        self,
        p: QPainter,
        option: QStyleOptionViewItem,
        item: GenerationItem,
        tile: QRect,
        url: str | None,
    ) -> None:
        t = theme.current()
        dpr = option.widget.devicePixelRatioF() if option.widget is not None else 1.0
        edge = thumb_edge(dpr, ratio_of(item.options.aspect_ratio))
        pixmap = self.cache.get(url, edge) if url else None
        if url and pixmap is None and self.cache.is_failed(url):
            tile_paint.paint_broken(p, tile, option.font)
        elif pixmap is not None and not pixmap.isNull():
            path = QPainterPath()
            path.addRoundedRect(tile, 12, 12)
            p.save()
            p.setClipPath(path)
            # Cover the tile, centred (the image already has the tile's aspect ratio).
            scaled = pixmap.size().scaled(
                tile.size(), Qt.AspectRatioMode.KeepAspectRatioByExpanding
            )
            target = QRect(QPoint(0, 0), scaled)
            target.moveCenter(tile.center())
            p.drawPixmap(target, pixmap)
            p.restore()
        else:
            # No clip path for placeholders: a rounded-rect fill is cheap, while a gradient
            # fillRect through a path clip was most of a frame while scrolling past tiles
            # whose thumbnails were still decoding.
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(t.c("skeleton"))
            p.drawRoundedRect(tile, 12, 12)
            if item.loading:  # only loading tiles animate (the repaint timer runs for them)
                self._shimmer(p, tile)

    def _shimmer(self, p: QPainter, tile: QRect) -> None:
        t = theme.current()
        phase = (self.now() * 0.7) % 1.6 - 0.3
        x = tile.left() + phase * tile.width()
        grad = QLinearGradient(x - tile.width() * 0.35, 0, x + tile.width() * 0.35, 0)
        grad.setColorAt(0.0, t.c("skeleton_hi", 0))
        grad.setColorAt(0.5, t.c("skeleton_hi", 200))
        grad.setColorAt(1.0, t.c("skeleton_hi", 0))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(grad))
        p.drawRoundedRect(tile, 12, 12)

    def _paint_error(
        self,
        p: QPainter,
        option: QStyleOptionViewItem,
        item: GenerationItem,
        lay: CardLayout,
    ) -> None:
        t = theme.current()
        panel = lay.error_panel
        assert panel is not None
        failed = item.status == "error"
        tone = "danger" if failed else "muted"
        p.setPen(QPen(t.c(tone, 110), 1))
        p.setBrush(t.c(tone, 26))
        p.drawRoundedRect(panel, 12, 12)
        top = panel.top() + 36
        badge = QRect(panel.left() + 20, top - 1, 30, 30)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(t.c(tone))
        p.drawEllipse(badge)
        bold = QFont(option.font)
        bold.setPixelSize(15)
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(t.c("accent_text"))
        p.drawText(badge, Qt.AlignmentFlag.AlignCenter, "!" if failed else "×")
        p.setPen(t.c("text"))
        title = "Generation failed" if failed else "Generation cancelled"
        p.drawText(QPoint(panel.left() + 64, top + 20), title)
        body = QFont(option.font)
        body.setPixelSize(13)
        p.setFont(body)
        p.setPen(t.c("muted"))
        text = QRect(panel.left() + 64, top + 30, panel.width() - 84, 58)
        p.drawText(text, Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignTop, item.error)
        if lay.retry is not None:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(t.c("accent"))
            p.drawRoundedRect(lay.retry, 10, 10)
            p.setPen(t.c("accent_text"))
            p.setFont(body)
            p.drawText(lay.retry, Qt.AlignmentFlag.AlignCenter, "Try again")

    @staticmethod
    def status_text(item: GenerationItem) -> str:
        return item.detail or "Generating…"

    def status_layout(
        self, lay: CardLayout, item: GenerationItem, font: QFont
    ) -> tile_paint.StatusLayout:
        """Where a loading card's status goes and how it is broken into lines."""
        return tile_paint.status_layout(QFontMetrics(font), self.status_text(item), lay.tiles)

    def tooltip(self, option_rect: QRect, item: GenerationItem, pos: QPoint) -> str:
        """The full text under `pos`: a loading card's status on its tiles, a broken
        image's explanation, else the prompt (or the failure)."""
        lay = card_layout(option_rect, item)
        on_tile = any(tile.contains(pos) for tile in lay.tiles)
        if item.loading and on_tile:
            return self.status_text(item)
        if self.hit(option_rect, item, pos)[0] == "reload":
            return tile_paint.BROKEN_TIP
        return item.error or item.prompt

    def helpEvent(self, event, view, option: QStyleOptionViewItem, index) -> bool:
        item: GenerationItem | None = index.data(ItemRole)
        if item is None or event.type() != QEvent.Type.ToolTip:
            return super().helpEvent(event, view, option, index)
        QToolTip.showText(event.globalPos(), self.tooltip(option.rect, item, event.pos()), view)
        return True

    # -- clicks -----------------------------------------------------------------------------
    def hit(
        self, option_rect: QRect, item: GenerationItem, pos: QPoint, fm: int = 7
    ) -> tuple[str, int]:
        """What is under `pos`: ("action", 0) with the action name, or ("image", index)."""
        lay = card_layout(option_rect, item, fm)
        for key, rect in lay.buttons.items():
            if rect.contains(pos):
                return key, -1
        if lay.retry is not None and lay.retry.contains(pos):
            return "retry", -1
        for i, heart in enumerate(lay.hearts):
            if heart.contains(pos):
                return "favorite", i
        for i, tile in enumerate(lay.tiles):
            if tile.contains(pos) and i < len(item.images):
                # A broken thumbnail: the whole tile is its Reload button.
                return ("reload" if self.cache.is_failed(item.images[i]) else "image"), i
        return "", -1

    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem, index) -> bool:
        if event.type() != QEvent.Type.MouseButtonRelease:
            return False
        assert isinstance(event, QMouseEvent)
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        item: GenerationItem | None = index.data(ItemRole)
        if item is None:
            return False
        what, i = self.hit(option.rect, item, event.position().toPoint(), self._fm_width(option))
        if what == "image":
            self.imageClicked.emit(item.key, i)
            return True
        if what == "reload":
            self.cache.retry(item.images[i])
            return True
        if what == "favorite":
            self.favoriteToggled.emit(item.key, i)
            return True
        if what:
            self.actionTriggered.emit(item.key, what)
            return True
        return False
