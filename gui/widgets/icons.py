"""Small painted assets: provider logos (SVG, with a lettered fallback) and ratio shapes."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtSvg import QSvgRenderer

import resources
from gui.widgets import theme

# Fallback badge colours per company, used when a logo file is missing.
_COMPANY_COLORS = {
    "OpenAI": "#10a37f",
    "FLUX": "#111111",
    "Kling": "#ff6a00",
    "Google": "#4285f4",
    "ByteDance": "#3c8cff",
    "Tencent": "#1d6ff2",
    "Reve": "#c2410c",
    "Alibaba": "#ff6a00",
}


@cache
def _logo_pixmap(logo: str, company: str, size: int, dpr: float) -> QPixmap:
    px = int(size * dpr)
    pixmap = QPixmap(px, px)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer = logo_renderer(logo)
    if renderer is not None:
        # Logos sit on a white rounded tile so dark marks read on a dark theme too.
        rounded = QPainterPath()
        rounded.addRoundedRect(QRectF(0, 0, px, px), px * 0.22, px * 0.22)
        painter.fillPath(rounded, QColor("#ffffff"))
        pad = px * 0.16
        renderer.render(painter, QRectF(pad, pad, px - 2 * pad, px - 2 * pad))
    else:
        painter.setBrush(QColor(_COMPANY_COLORS.get(company, "#6b4dff")))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(QRectF(0, 0, px, px), px * 0.22, px * 0.22)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(int(px * 0.5))
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(QRectF(0, 0, px, px), Qt.AlignmentFlag.AlignCenter, company[:1])
    painter.end()
    pixmap.setDevicePixelRatio(dpr)
    return pixmap


def logo_renderer(logo: str) -> QSvgRenderer | None:
    """The logo's SVG from the installed `resources` package, or None (missing or broken).

    Read as bytes rather than by path so it works wherever the package landed."""
    found = resources.logo(logo) if logo.endswith(".svg") else None
    if found is None:
        return None
    renderer = QSvgRenderer(QByteArray(found.read_bytes()))
    return renderer if renderer.isValid() else None


def app_icon() -> QIcon:
    """The application's icon (window, task bar), rendered from its SVG at common sizes."""
    renderer = QSvgRenderer(QByteArray(resources.app_icon().read_bytes()))
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        icon.addPixmap(pixmap)
    return icon


def logo_pixmap(logo: str, company: str, size: int = 28, dpr: float = 2.0) -> QPixmap:
    return _logo_pixmap(logo, company, size, dpr)


def logo_icon(logo: str, company: str, size: int = 20) -> QIcon:
    return QIcon(logo_pixmap(logo, company, size))


def ratio_icon(ratio: str | None, size: int = 16, color: QColor | None = None) -> QIcon:
    """A rectangle with the ratio's shape (outlined, rounded) centred in a square icon."""
    dpr = 2.0
    px = int(size * dpr)
    pixmap = QPixmap(px, px)
    pixmap.fill(Qt.GlobalColor.transparent)
    w_r, h_r = _parse_ratio(ratio)
    scale = (px - 4 * dpr) / max(w_r, h_r)
    w, h = w_r * scale, h_r * scale
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(color or theme.current().c("text"), 1.6 * dpr)
    painter.setPen(pen)
    painter.drawRoundedRect(QRectF((px - w) / 2, (px - h) / 2, w, h), 2 * dpr, 2 * dpr)
    painter.end()
    pixmap.setDevicePixelRatio(dpr)
    return QIcon(pixmap)


def _parse_ratio(ratio: str | None) -> tuple[float, float]:
    try:
        a, b = (ratio or "1:1").split(":")
        return float(a), float(b)
    except ValueError:
        return 1.0, 1.0


def glyph_icon(kind: str, size: int = 16, color: QColor | None = None) -> QIcon:
    """Simple line glyphs drawn with QPainter so no icon theme is needed."""
    dpr = 2.0
    px = int(size * dpr)
    pixmap = QPixmap(QSize(px, px))
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(color or theme.current().c("text"), 1.7 * dpr)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    s = px
    if kind == "plus":
        p.drawLine(int(s * 0.5), int(s * 0.2), int(s * 0.5), int(s * 0.8))
        p.drawLine(int(s * 0.2), int(s * 0.5), int(s * 0.8), int(s * 0.5))
    elif kind == "close":
        p.drawLine(int(s * 0.25), int(s * 0.25), int(s * 0.75), int(s * 0.75))
        p.drawLine(int(s * 0.75), int(s * 0.25), int(s * 0.25), int(s * 0.75))
    elif kind == "gear":
        p.drawEllipse(QRectF(s * 0.3, s * 0.3, s * 0.4, s * 0.4))
        p.drawEllipse(QRectF(s * 0.12, s * 0.12, s * 0.76, s * 0.76))
    elif kind == "image":
        p.drawRoundedRect(QRectF(s * 0.12, s * 0.2, s * 0.76, s * 0.6), 3 * dpr, 3 * dpr)
        p.drawEllipse(QRectF(s * 0.58, s * 0.3, s * 0.12, s * 0.12))
        p.drawPolyline([_pt(s, 0.14, 0.72), _pt(s, 0.4, 0.46), _pt(s, 0.62, 0.7)])
    elif kind == "info":  # drawn, not the "ⓘ" character: many fonts lack it (a tofu box)
        p.drawEllipse(QRectF(s * 0.12, s * 0.12, s * 0.76, s * 0.76))
        p.drawLine(int(s * 0.5), int(s * 0.45), int(s * 0.5), int(s * 0.7))
        p.drawPoint(QPointF(s * 0.5, s * 0.31))
    elif kind == "spark":
        path = QPainterPath()
        path.moveTo(s * 0.5, s * 0.1)
        path.quadTo(s * 0.56, s * 0.44, s * 0.9, s * 0.5)
        path.quadTo(s * 0.56, s * 0.56, s * 0.5, s * 0.9)
        path.quadTo(s * 0.44, s * 0.56, s * 0.1, s * 0.5)
        path.quadTo(s * 0.44, s * 0.44, s * 0.5, s * 0.1)
        p.fillPath(path, color or theme.current().c("accent_text"))
    p.end()
    pixmap.setDevicePixelRatio(dpr)
    return QIcon(pixmap)


def _pt(s: int, x: float, y: float) -> QPointF:
    return QPointF(s * x, s * y)
