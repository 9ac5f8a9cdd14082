"""The main window's size and place: fitted to the screen at first start, remembered after.

The first start sizes the window to the screen's available area (never the fixed size a
small screen cannot show); on close the geometry is stored in QSettings, and the next start
restores it clamped to the screen it lands on (a monitor may have gone, or shrunk).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSettings, QSize, Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

PREFERRED = QSize(1320, 860)
MINIMUM = QSize(900, 600)
# Room left for the window manager's frame and title bar around the client area.
FRAME_ALLOWANCE = QSize(16, 48)
_KEY_RECT = "window/geometry"
_KEY_MAXIMIZED = "window/maximized"


def app_settings() -> QSettings:
    """Where the app keeps its window state (next to the theme choice)."""
    return QSettings("imagegen-desktop", "imagegen")


def minimum_for(available: QRect) -> QSize:
    """The window's minimum size, never larger than the screen (with its frame)."""
    return MINIMUM.boundedTo(available.size() - FRAME_ALLOWANCE)


def first_size(available: QRect) -> QSize:
    """A comfortable first size: the preferred size, grown on big screens, within the screen."""
    want = QSize(
        max(PREFERRED.width(), round(available.width() * 0.8)),
        max(PREFERRED.height(), round(available.height() * 0.85)),
    )
    room = available.size() - FRAME_ALLOWANCE
    return want.boundedTo(room).expandedTo(minimum_for(available))


def clamp(rect: QRect, available: QRect) -> QRect:
    """``rect`` made to fit inside ``available``: shrunk if too big, then moved inside."""
    size = rect.size().boundedTo(available.size()).expandedTo(minimum_for(available))
    x = min(max(rect.x(), available.left()), available.right() + 1 - size.width())
    y = min(max(rect.y(), available.top()), available.bottom() + 1 - size.height())
    return QRect(QPoint(x, y), size)


def _screen_for(rect: QRect | None, window: QWidget) -> QScreen:
    screen = QGuiApplication.screenAt(rect.center()) if rect is not None else None
    return screen or window.screen() or QGuiApplication.primaryScreen()


def fit_to_screen(window: QWidget) -> None:
    """First-start size, centred on the window's screen."""
    available = _screen_for(None, window).availableGeometry()
    window.setMinimumSize(minimum_for(available))
    rect = QRect(QPoint(0, 0), first_size(available))
    rect.moveCenter(available.center())
    window.setGeometry(clamp(rect, available))


def dialog_size(dialog: QWidget, want: QSize) -> QSize:
    """``want``, shrunk to fit the dialog's screen with its frame (a 900x600 screen too):
    a dialog larger than the screen has its buttons off screen, out of reach."""
    available = _screen_for(None, dialog).availableGeometry()
    return want.boundedTo(available.size() - FRAME_ALLOWANCE)


def restore(window: QWidget, settings: QSettings) -> bool:
    """Apply the stored geometry clamped to its screen; False (and a first-start size)
    when nothing usable is stored."""
    stored = settings.value(_KEY_RECT)
    if not isinstance(stored, QRect) or not stored.isValid():
        fit_to_screen(window)
        return False
    available = _screen_for(stored, window).availableGeometry()
    window.setMinimumSize(minimum_for(available))
    window.setGeometry(clamp(stored, available))
    if str(settings.value(_KEY_MAXIMIZED, "false")).lower() == "true":
        window.setWindowState(window.windowState() | Qt.WindowState.WindowMaximized)
    return True


def keep_on_screen(window: QWidget) -> None:
    """Once shown (its frame known), move or shrink the window so the frame is on screen."""
    if window.isMaximized() or window.isFullScreen():
        return
    frame, inner = window.frameGeometry(), window.geometry()
    available = _screen_for(frame, window).availableGeometry()
    if available.contains(frame):
        return
    extra = frame.size() - inner.size()
    target = clamp(frame, available)
    window.setGeometry(
        target.x() + inner.x() - frame.x(),
        target.y() + inner.y() - frame.y(),
        target.width() - extra.width(),
        target.height() - extra.height(),
    )


def save(window: QWidget, settings: QSettings) -> None:
    """Store the window's normal (not maximized) geometry and whether it is maximized."""
    normal = window.normalGeometry() if window.isMaximized() else window.geometry()
    settings.setValue(_KEY_RECT, normal)
    settings.setValue(_KEY_MAXIMIZED, window.isMaximized())
    settings.sync()
