"""Painting inside a card's tiles: the live status of a loading card and a broken image.

Both lay out first (pure geometry, which the tests read) and paint second.

The status ("In queue #3", "Reserving credits…") sits on the first tile when it fits on
one line there, else across the whole tile row, else wraps onto several lines there
(spinner above); only a word wider than the tile is elided, and
the grid's tooltip always has the full text.

A thumbnail that could not be loaded is a visible broken tile (an image glyph with a slash,
"Couldn't load" and a Reload button; the whole tile reloads on click), never a skeleton,
which would say it is still coming.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPen

from gui.widgets import icons, theme

PILL_H = 30
SPIN = 14
INSET = 8  # between a tile's edge and the status pill
BROKEN_TEXT = "Couldn't load"
BROKEN_TIP = "This image could not be loaded. Click the tile to try again."
RELOAD = "Reload"


@dataclass
class StatusLayout:
    pill: QRect
    spinner: QRect
    lines: list[tuple[QRect, str]]  # each line's rect and its text
    elided: bool  # some text did not fit (the tooltip has it)
    wrapped: bool


def status_font(base: QFont) -> QFont:
    font = QFont(base)
    font.setPixelSize(12)
    font.setWeight(QFont.Weight.DemiBold)
    return font


def _union(tiles: list[QRect]) -> QRect:
    row = QRect(tiles[0])
    for tile in tiles[1:]:
        row = row.united(tile)
    return row


def _wrap(fm: QFontMetrics, text: str, width: int) -> tuple[list[str], bool]:
    """Greedy word wrap; a word wider than `width` is elided (second value True)."""
    lines: list[str] = []
    elided = False
    for word in text.split():
        if lines and fm.horizontalAdvance(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
            continue
        if fm.horizontalAdvance(word) > width:
            word = fm.elidedText(word, Qt.TextElideMode.ElideRight, width)
            elided = True
        lines.append(word)
    return lines or [""], elided


def status_layout(fm: QFontMetrics, text: str, tiles: list[QRect]) -> StatusLayout:
    first = tiles[0]
    row = _union(tiles)
    one_line = fm.horizontalAdvance(text) + 2 * 10 + SPIN + 6
    for box in (first, row):
        if one_line <= box.width() - 2 * INSET and box.height() >= PILL_H + 4:
            pill = QRect(0, 0, one_line, PILL_H)
            pill.moveCenter(box.center())
            spinner = QRect(pill.left() + 10, pill.center().y() - SPIN // 2 + 1, SPIN, SPIN)
            left = spinner.right() + 7
            line = QRect(left, pill.top(), pill.right() - left, PILL_H)
            return StatusLayout(pill, spinner, [(line, text)], False, False)
    # Several lines, spinner above, across the row (tiles share a height: the row is the
    # first tile when the card has one image).
    box = row
    pad = 6  # inside the pill, left and right (narrow tiles need every pixel)
    width = max(8, box.width() - 2 * 4 - 2 * pad)
    lines, elided = _wrap(fm, text, width)
    line_h = fm.height()
    room = max(1, (box.height() - 2 * 4 - 8 - SPIN - 4 - 8) // line_h)
    if len(lines) > room:
        rest = " ".join(lines[room - 1 :])
        lines = [*lines[: room - 1], fm.elidedText(rest, Qt.TextElideMode.ElideRight, width)]
        elided = True
    text_w = max(fm.horizontalAdvance(line) for line in lines)
    pill = QRect(0, 0, max(text_w, SPIN) + 2 * pad, 8 + SPIN + 4 + len(lines) * line_h + 8)
    pill.moveCenter(box.center())
    spinner = QRect(pill.center().x() - SPIN // 2, pill.top() + 8, SPIN, SPIN)
    top = spinner.bottom() + 5
    rects = [
        (QRect(pill.left() + pad, top + i * line_h, pill.width() - 2 * pad, line_h), line)
        for i, line in enumerate(lines)
    ]
    return StatusLayout(pill, spinner, rects, elided, True)


def paint_status(p: QPainter, lay: StatusLayout, font: QFont, phase_deg: float) -> None:
    t = theme.current()
    p.setFont(font)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(t.c("bg", 215))
    radius = min(15, lay.pill.height() // 2)
    p.drawRoundedRect(lay.pill, radius, radius)
    pen = QPen(t.c("accent"), 2.2)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    p.drawArc(lay.spinner, int(-phase_deg % 360 * 16), 270 * 16)
    p.setPen(t.c("text"))
    align = Qt.AlignmentFlag.AlignVCenter | (
        Qt.AlignmentFlag.AlignHCenter if lay.wrapped else Qt.AlignmentFlag.AlignLeft
    )
    for rect, line in lay.lines:
        p.drawText(rect, align, line)


# -- a thumbnail that could not be loaded -------------------------------------------------------
def _compact(tile: QRect) -> bool:
    return tile.height() < 100 or tile.width() < 96


def reload_rect(tile: QRect, fm: QFontMetrics) -> QRect:
    """The Reload button drawn on a broken tile (the whole tile reloads on click)."""
    if _compact(tile):
        side = max(16, min(30, tile.height() - 8, tile.width() - 8))
        rect = QRect(0, 0, side, side)
        rect.moveCenter(tile.center())
        return rect
    w = min(tile.width() - 16, fm.horizontalAdvance(RELOAD) + 40)
    rect = QRect(0, 0, w, 26)
    rect.moveCenter(QPoint(tile.center().x(), tile.center().y() + 27))
    return rect


def paint_broken(p: QPainter, tile: QRect, base: QFont) -> None:
    t = theme.current()
    font = QFont(base)
    font.setPixelSize(12)
    p.setFont(font)
    fm = QFontMetrics(font)
    pen = QPen(t.c("muted", 150), 1.2, Qt.PenStyle.DashLine)
    p.setPen(pen)
    p.setBrush(t.c("surface2"))
    p.drawRoundedRect(tile.adjusted(1, 1, -1, -1), 12, 12)
    button = reload_rect(tile, fm)
    if not _compact(tile):
        glyph = QRect(0, 0, 26, 26)
        glyph.moveCenter(QPoint(tile.center().x(), tile.center().y() - 30))
        p.drawPixmap(glyph, icons.glyph_icon("image", 26, t.c("muted")).pixmap(26, 26))
        p.setPen(QPen(t.c("danger"), 2.2))
        p.drawLine(glyph.bottomLeft() + QPoint(2, -2), glyph.topRight() + QPoint(-2, 2))
        p.setPen(t.c("muted"))
        label = QRect(tile.left() + 6, glyph.bottom() + 3, tile.width() - 12, fm.height())
        p.drawText(
            label,
            Qt.AlignmentFlag.AlignCenter,
            fm.elidedText(BROKEN_TEXT, Qt.TextElideMode.ElideRight, label.width()),
        )
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(t.c("accent"))
    p.drawRoundedRect(button, button.height() / 2, button.height() / 2)
    p.setPen(t.c("accent_text"))
    if _compact(tile):
        p.drawText(button, Qt.AlignmentFlag.AlignCenter, "↻")
    else:
        text = fm.elidedText(f"↻  {RELOAD}", Qt.TextElideMode.ElideRight, button.width() - 8)
        p.drawText(button, Qt.AlignmentFlag.AlignCenter, text)
