"""Sessions sidebar: previews, titles and relative times; new session; switch session."""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPainterPath
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from gui.engine.convex_types import SessionSummary
from gui.widgets import icons, theme
from gui.widgets.formatting import relative_time
from gui.widgets.sidebar_tools import SidebarTools
from gui.widgets.thumbnail_cache import ThumbnailCache

_ROLE = Qt.ItemDataRole.UserRole + 20
_ROW_H = 60


def session_title(session: SessionSummary) -> str:
    return session.title or "Untitled session"


def session_fields(session: SessionSummary) -> tuple[str, str, str | None, float]:
    """(id, title, preview url, updated time in seconds) of a session, as a row shows it."""
    when = session.updated_at or session.created_at or time.time()
    return session.id, session_title(session), session.preview or None, when


# The 38 px preview decoded at 128 px covers screens up to 3x; the fetcher asks for the
# smallest server variant covering that (256 px), never the session's original.
PREVIEW_EDGE = 128


class _SessionDelegate(QStyledItemDelegate):
    def __init__(self, cache: ThumbnailCache, parent: QWidget) -> None:
        super().__init__(parent)
        self.cache = cache
        self.now = time.time

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return QSize(option.rect.width(), _ROW_H)

    def paint(
        self,
        p: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        t = theme.current()
        _sid, title, preview, when = index.data(_ROLE)
        r = option.rect.adjusted(8, 3, -8, -3)
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if option.state & QStyle.StateFlag.State_Selected:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(t.c("accent", 45))
            p.drawRoundedRect(r, 10, 10)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(t.c("surface2"))
            p.drawRoundedRect(r, 10, 10)
        thumb = QRect(r.left() + 8, r.top() + 8, 38, 38)
        path = QPainterPath()
        path.addRoundedRect(thumb, 8, 8)
        p.setClipPath(path)
        pixmap = self.cache.get(preview, PREVIEW_EDGE) if preview else None
        if pixmap is not None:
            scaled = pixmap.size().scaled(
                thumb.size(), Qt.AspectRatioMode.KeepAspectRatioByExpanding
            )
            target = QRect(QPoint(0, 0), scaled)
            target.moveCenter(thumb.center())
            p.drawPixmap(target, pixmap)
        else:
            p.fillRect(thumb, t.c("skeleton"))
            p.drawPixmap(
                thumb.left() + 11,
                thumb.top() + 11,
                icons.glyph_icon("image", 16, t.c("muted")).pixmap(16, 16),
            )
        p.setClipping(False)
        x = thumb.right() + 12
        font = QFont(option.font)
        font.setPixelSize(13)
        font.setWeight(QFont.Weight.DemiBold)
        p.setFont(font)
        p.setPen(t.c("text"))
        text = p.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, r.right() - x - 8)
        p.drawText(QPoint(x, r.top() + 24), text)
        font.setWeight(QFont.Weight.Normal)
        font.setPixelSize(11)
        p.setFont(font)
        p.setPen(t.c("muted"))
        p.drawText(QPoint(x, r.top() + 42), relative_time(when, self.now()))
        p.restore()


class SessionsSidebar(QFrame):
    sessionSelected = Signal(str)
    newSessionRequested = Signal()
    libraryRequested = Signal()  # the Library: search and favourites

    def __init__(self, cache: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFixedWidth(260)
        self.new_button = QPushButton("  New session")
        self.library_button = QPushButton("  Library")
        self.library_button.setToolTip("Search every session, and your favourites (Ctrl+Shift+F)")
        self.library_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self._restyle()
        theme.on_change(self._restyle)
        self.new_button.setCursor(Qt.CursorShape.PointingHandCursor)
        title = QLabel("SESSIONS")
        title.setObjectName("SectionTitle")
        self.list = QListWidget()
        self.delegate = _SessionDelegate(cache, self.list)
        self.list.setItemDelegate(self.delegate)
        self.list.setUniformItemSizes(True)
        self.list.setMouseTracking(True)
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        # Filter as you type, and Rename / Delete per row (gui/widgets/sidebar_tools.py).
        self.tools = SidebarTools(self.list, lambda row: self.list.item(row).data(_ROLE)[0])
        self.placeholder = QLabel("No sessions yet.\nYour first generation starts one.")
        self.placeholder.setObjectName("Muted")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 16, 10, 12)
        layout.setSpacing(10)
        layout.addWidget(self.new_button)
        layout.addWidget(self.library_button)
        layout.addSpacing(6)
        layout.addWidget(title)
        layout.addWidget(self.tools.filter)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.placeholder)
        layout.addStretch(0)
        self._selecting = False
        self.new_button.clicked.connect(self.newSessionRequested.emit)
        self.library_button.clicked.connect(self.libraryRequested.emit)
        self.list.currentItemChanged.connect(self._on_current)
        cache.thumbnailReady.connect(lambda _u: self.list.viewport().update())
        self.set_sessions([])

    def _restyle(self) -> None:
        self.new_button.setIcon(icons.glyph_icon("plus", 14))
        self.library_button.setIcon(icons.glyph_icon("image", 14))

    def set_sessions(self, sessions: list[SessionSummary], selected: str | None = None) -> None:
        self._selecting = True
        try:
            self.list.clear()
            for session in sessions:
                fields = session_fields(session)
                item = QListWidgetItem(fields[1])
                item.setData(_ROLE, fields)
                item.setSizeHint(QSize(200, _ROW_H))
                self.list.addItem(item)
            self.placeholder.setVisible(not sessions)
            self.tools.apply_filter()  # a reload keeps what the filter hides
            self.select(selected)
        finally:
            self._selecting = False

    def session_ids(self) -> list[str]:
        return [self.list.item(i).data(_ROLE)[0] for i in range(self.list.count())]

    def select(self, session_id: str | None) -> None:
        ids = self.session_ids()
        blocked = self._selecting
        self._selecting = True
        self.list.setCurrentRow(ids.index(session_id) if session_id in ids else -1)
        self._selecting = blocked

    def _on_current(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is not None and not self._selecting:
            self.sessionSelected.emit(current.data(_ROLE)[0])
