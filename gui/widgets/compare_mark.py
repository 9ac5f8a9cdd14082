"""How a comparison's rows are shown as one group in the grid.

Each generation of a comparison is its own card (one row per model, the model's logo and
name in its header, as usual). What ties them together is painted here: an accent rail in
the left margin that runs through the group's rows and joins them, and a "Compare 2/3" pill
at the right end of the card's header line, under its actions; clicking it opens the
comparison side by side (compare_view.py).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter

from gui.engine.compare_groups import GroupMark
from gui.widgets import theme
from gui.widgets.generation_model import GenerationItem

GroupLookup = Callable[[GenerationItem], GroupMark | None]
RAIL_W = 3
PILL_H = 15


def no_group(_item: GenerationItem) -> GroupMark | None:
    """The grid's lookup until a controller hands it the comparison groups."""
    return None


def pill_font(base_font: QFont) -> QFont:
    font = QFont(base_font)
    font.setPixelSize(10)
    font.setBold(True)
    return font


def pill_rect(card: QRect, mark: GroupMark, base_font: QFont, pad: int, header_h: int) -> QRect:
    """The pill's place: the right end of the header, just above the tiles (painting and
    clicking use this one rectangle)."""
    width = QFontMetrics(pill_font(base_font)).horizontalAdvance(mark.label) + 14
    return QRect(card.right() - pad - width, card.top() + pad + header_h - PILL_H, width, PILL_H)


def paint_group_mark(
    p: QPainter,
    row: QRect,
    card: QRect,
    mark: GroupMark,
    base_font: QFont,
    pad: int,
    header_h: int,
) -> None:
    """Paint ``mark`` on a card whose row is ``row`` and whose rounded card is ``card``."""
    t = theme.current()
    p.save()
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(t.c("accent"))
    # The rail spans the whole row between members, so adjacent rows join into one line;
    # it starts at the first member's card and ends at the last one's.
    top = card.top() + 12 if mark.position == 0 else row.top()
    bottom = card.bottom() - 12 if mark.position == mark.size - 1 else row.bottom() + 1
    x = row.left() + (card.left() - row.left() - RAIL_W) // 2
    p.drawRoundedRect(QRect(x, top, RAIL_W, bottom - top), 1, 1)
    p.setFont(pill_font(base_font))
    pill = pill_rect(card, mark, base_font, pad, header_h)
    p.setBrush(t.c("accent", 48))
    p.drawRoundedRect(pill, PILL_H // 2, PILL_H // 2)
    p.setPen(t.c("accent"))
    p.drawText(pill, Qt.AlignmentFlag.AlignCenter, mark.label)
    p.restore()
