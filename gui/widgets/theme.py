"""Colours, palette and style sheet: one accent, rounded cards, dark and light variants.

The theme follows the system colour scheme (Qt >= 6.5 reports it through QStyleHints) and
can be forced for screenshots and tests. Delegates that paint by hand read `current()` so
painted tiles and styled widgets always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from gui.engine.config import ClientConfig, read_settings_file, update_settings_file

# The modes the Settings dialog offers, with their labels.
THEMES = (("system", "Follow the system"), ("dark", "Dark"), ("light", "Light"))
THEME_MODES = tuple(key for key, _ in THEMES)
# Where versions before client.json kept the theme (QSettings' organisation and name).
APP_ORGANIZATION, APP_NAME = "imagegen-desktop", "imagegen"


@dataclass(frozen=True)
class Theme:
    dark: bool
    bg: str
    surface: str
    surface2: str
    border: str
    text: str
    muted: str
    accent: str
    accent_hover: str
    accent_text: str
    danger: str
    success: str
    skeleton: str
    skeleton_hi: str
    focus: str  # the keyboard focus ring: distinct from hover (accent border) and selection

    def rgba(self, name: str, alpha: int) -> str:
        """A style-sheet colour with alpha (0-255). Not "#rrggbbaa": Qt reads eight hex
        digits as #aarrggbb, which turns a translucent accent into a different colour."""
        color = QColor(getattr(self, name))
        return f"rgba({color.red()}, {color.green()}, {color.blue()}, {alpha})"

    def c(self, name: str, alpha: int | None = None) -> QColor:
        """A QColor for one of the named colours, optionally with alpha (0-255)."""
        color = QColor(getattr(self, name))
        if alpha is not None:
            color.setAlpha(alpha)
        return color


DARK = Theme(
    dark=True,
    bg="#0e1015",
    surface="#161922",
    surface2="#1e222d",
    border="#2a2f3c",
    text="#e9ebf2",
    muted="#8a92a6",
    accent="#7c5cff",
    accent_hover="#9077ff",
    accent_text="#ffffff",
    danger="#ff5d73",
    success="#35c98a",
    skeleton="#1f2330",
    skeleton_hi="#2b3142",
    focus="#b7a6ff",
)

LIGHT = Theme(
    dark=False,
    bg="#f4f5f9",
    surface="#ffffff",
    surface2="#eef0f6",
    border="#dde1ea",
    text="#171a22",
    muted="#5f6678",
    accent="#6b4dff",
    accent_hover="#5a3cf0",
    accent_text="#ffffff",
    danger="#e5364f",
    success="#1f9e68",
    skeleton="#e9ebf2",
    skeleton_hi="#f7f8fb",
    focus="#3d1fd6",
)

_current: Theme = DARK


class _Notifier(QObject):
    changed = Signal()


_notifier: _Notifier | None = None


def current() -> Theme:
    return _current


def on_change(slot: Callable[[], None]) -> None:
    """Call ``slot`` after every `apply_theme`, for colours baked into icons and per-widget
    style sheets (the app style sheet and painted delegates follow by themselves). Pass a
    bound method of a QObject: Qt drops the connection when that object is destroyed."""
    global _notifier
    if _notifier is None:
        _notifier = _Notifier()
    _notifier.changed.connect(slot)


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is None:  # Qt < 6.5: guess from the window colour
        return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return scheme() == Qt.ColorScheme.Dark


def _palette(t: Theme) -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: t.bg,
        QPalette.ColorRole.WindowText: t.text,
        QPalette.ColorRole.Base: t.surface,
        QPalette.ColorRole.AlternateBase: t.surface2,
        QPalette.ColorRole.Text: t.text,
        QPalette.ColorRole.Button: t.surface2,
        QPalette.ColorRole.ButtonText: t.text,
        QPalette.ColorRole.Highlight: t.accent,
        QPalette.ColorRole.HighlightedText: t.accent_text,
        QPalette.ColorRole.ToolTipBase: t.surface2,
        QPalette.ColorRole.ToolTipText: t.text,
        QPalette.ColorRole.PlaceholderText: t.muted,
        QPalette.ColorRole.Link: t.accent,
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(t.muted))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(t.muted))
    return p


def style_sheet(t: Theme) -> str:
    return f"""
    QWidget {{ color: {t.text}; font-size: 13px; }}
    QMainWindow, QDialog {{ background: {t.bg}; }}
    QToolTip {{ background: {t.surface2}; color: {t.text}; border: 1px solid {t.border};
        border-radius: 6px; padding: 6px 8px; }}
    #Card, #PromptCard {{ background: {t.surface}; border: 1px solid {t.border};
        border-radius: 16px; }}
    #Sidebar {{ background: {t.surface}; border-right: 1px solid {t.border}; }}
    #Header {{ background: {t.bg}; }}
    #Title {{ font-size: 17px; font-weight: 700; }}
    #Muted, QLabel[muted="true"] {{ color: {t.muted}; }}
    QLabel#Error {{ color: {t.danger}; }}
    QLabel#Success {{ color: {t.success}; font-weight: 600; }}
    QLabel#Notice {{ background: {t.rgba("accent", 34)}; border: 1px solid {t.accent};
        border-radius: 10px; padding: 10px 12px; font-weight: 600; }}
    #SectionTitle {{ color: {t.muted}; font-size: 11px; font-weight: 700;
        letter-spacing: 1px; }}
    #CreditsPill {{ background: {t.surface2}; border: 1px solid {t.border};
        border-radius: 14px; padding: 5px 12px; font-weight: 600; }}
    #Banner {{ background: {t.danger}; color: white; border-radius: 10px; padding: 8px 14px;
        font-weight: 600; }}
    QPlainTextEdit#Prompt {{ background: transparent; border: none; font-size: 14px;
        selection-background-color: {t.accent}; }}
    QLineEdit {{ background: {t.surface2}; border: 1px solid {t.border}; border-radius: 10px;
        padding: 7px 10px; selection-background-color: {t.accent}; }}
    QLineEdit:focus {{ border: 1px solid {t.accent}; }}
    QSpinBox {{ background: {t.surface2}; border: 1px solid {t.border}; border-radius: 10px;
        padding: 5px 10px; }}
    /* Wheel, arrow keys or typing change it: drawn arrows clash with the rounded field. */
    QSpinBox::up-button, QSpinBox::down-button {{ width: 0; border: none; }}
    QPushButton, QToolButton {{ background: {t.surface2}; border: 1px solid {t.border};
        border-radius: 10px; padding: 6px 12px; }}
    QPushButton:hover, QToolButton:hover {{ border-color: {t.accent}; }}
    QPushButton:pressed, QToolButton:pressed {{ background: {t.border}; }}
    QPushButton:checked, QToolButton:checked {{ background: {t.accent}; color: {t.accent_text};
        border-color: {t.accent}; }}
    QPushButton#Primary {{ background: {t.accent}; color: {t.accent_text}; border: none;
        font-weight: 700; padding: 9px 20px; border-radius: 12px; }}
    QPushButton#Primary:hover {{ background: {t.accent_hover}; }}
    QPushButton#Primary:disabled {{ background: {t.surface2}; color: {t.muted}; }}
    QPushButton#Chip, QToolButton#Chip {{ border-radius: 15px; padding: 5px 12px;
        font-weight: 600; }}
    QToolButton#Chip::menu-indicator {{ image: none; width: 0; }}
    QPushButton#Segment {{ border-radius: 0; padding: 5px 14px; font-weight: 600; }}
    QPushButton#Segment[segment="first"] {{ border-top-left-radius: 13px;
        border-bottom-left-radius: 13px; border-right: none; }}
    QPushButton#Segment[segment="last"] {{ border-top-right-radius: 13px;
        border-bottom-right-radius: 13px; border-left: none; }}
    QPushButton#Ghost, QToolButton#Ghost {{ background: transparent; border: none; }}
    QPushButton#Ghost:hover, QToolButton#Ghost:hover {{ background: {t.surface2}; }}
    QPushButton#Danger {{ color: {t.danger}; }}
    QComboBox {{ background: {t.surface2}; border: 1px solid {t.border}; border-radius: 15px;
        padding: 5px 12px; font-weight: 600; }}
    QComboBox:hover {{ border-color: {t.accent}; }}
    QComboBox::drop-down {{ border: none; width: 18px; }}
    QComboBox QAbstractItemView {{ background: {t.surface}; border: 1px solid {t.border};
        selection-background-color: {t.accent}; outline: none; padding: 4px; }}
    QListView, QListWidget {{ background: transparent; border: none; outline: none; }}
    QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px; }}
    QScrollBar::handle:vertical {{ background: {t.border}; border-radius: 4px;
        min-height: 30px; }}
    QScrollBar::add-line, QScrollBar::sub-line {{ height: 0; width: 0; }}
    QScrollBar:horizontal {{ background: transparent; height: 8px; margin: 1px; }}
    QScrollBar::handle:horizontal {{ background: {t.border}; border-radius: 3px; }}
    #PickerPopup {{ background: {t.surface}; border: 1px solid {t.border};
        border-radius: 14px; }}
    #Toast {{ background: {t.surface2}; border: 1px solid {t.border}; border-radius: 12px; }}
    #Toast[kind="error"] {{ border-left: 4px solid {t.danger}; }}
    #Toast[kind="success"] {{ border-left: 4px solid {t.success}; }}
    #Toast[kind="info"] {{ border-left: 4px solid {t.accent}; }}
    QGroupBox {{ border: 1px solid {t.border}; border-radius: 12px; margin-top: 14px;
        padding: 12px; background: {t.surface}; }}
    QGroupBox::title {{ subcontrol-origin: margin; left: 12px; padding: 0 4px;
        color: {t.muted}; font-weight: 700; }}
    QRadioButton::indicator {{ width: 12px; height: 12px; border: 1px solid {t.muted};
        border-radius: 7px; background: {t.surface2}; }}
    QRadioButton::indicator:checked {{ border-color: {t.accent};
        background: qradialgradient(cx:0.5, cy:0.5, radius:0.5, fx:0.5, fy:0.5,
        stop:0 {t.accent}, stop:0.5 {t.accent}, stop:0.6 {t.surface2}, stop:1 {t.surface2}); }}
    QCheckBox::indicator {{ width: 14px; height: 14px; border: 1px solid {t.muted};
        border-radius: 4px; background: {t.surface2}; }}
    QCheckBox::indicator:checked {{ background: {t.accent}; border-color: {t.accent}; }}
    QAbstractItemView::indicator {{ width: 14px; height: 14px; border: 1px solid {t.muted};
        border-radius: 4px; background: {t.surface2}; }}
    QAbstractItemView::indicator:checked {{ background: {t.accent}; border-color: {t.accent}; }}
    QAbstractItemView::indicator:selected {{ border-color: {t.accent_text}; }}
    QAbstractItemView::indicator:checked:selected {{ background: {t.accent_text}; }}
    QLabel#BlockedReason {{ color: {t.muted}; border-radius: 8px; padding: 2px 8px; }}
    QLabel#BlockedReason[flash="true"] {{ color: {t.danger};
        background: {t.rgba("danger", 38)}; }}
    {focus_style(t)}
    """


def focus_style(t: Theme) -> str:
    """A visible keyboard focus ring: a 2px border in the focus colour. Each rule takes one
    pixel of padding back, so a focused control keeps its size and nothing shifts."""
    ring = f"border: 2px solid {t.focus};"
    return f"""
    QPushButton:focus, QToolButton:focus {{ {ring} padding: 5px 11px; }}
    QPushButton#Primary:focus {{ border: 2px solid {t.text}; padding: 7px 18px; }}
    QPushButton#Chip:focus, QToolButton#Chip:focus {{ {ring} padding: 4px 11px; }}
    QPushButton#Segment:focus {{ {ring} padding: 4px 13px; }}
    QPushButton#Ghost:focus, QToolButton#Ghost:focus {{ {ring} padding: 4px 10px; }}
    QComboBox:focus {{ {ring} padding: 4px 11px; }}
    QLineEdit:focus {{ {ring} padding: 6px 9px; }}
    QSpinBox:focus {{ {ring} padding: 4px 9px; }}
    QCheckBox::indicator:focus, QRadioButton::indicator:focus {{ {ring} }}
    #PromptCard[focused="true"] {{ {ring} }}
    """


def apply_theme(app: QApplication, mode: str = "system") -> Theme:
    """Apply `mode` ("system", "dark" or "light") to the whole application."""
    global _current
    dark = system_prefers_dark() if mode == "system" else mode == "dark"
    _current = DARK if dark else LIGHT
    app.setStyle("Fusion")
    app.setPalette(_palette(_current))
    font = QFont(app.font())
    font.setFamilies(["Inter", "Segoe UI", "SF Pro Text", "Cantarell", "Noto Sans", "DejaVu Sans"])
    app.setFont(font)
    app.setStyleSheet(style_sheet(_current))
    if _notifier is not None:
        _notifier.changed.emit()
    return _current


def follow_system(app: QApplication) -> None:
    """Re-apply the theme whenever the system switches between dark and light."""
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(lambda *_: apply_theme(app, "system"))


def adopt_legacy_theme(config: ClientConfig, legacy: QSettings | None = None) -> ClientConfig:
    """Versions before the settings home kept the theme in QSettings (``legacy``: the app's
    own by default): move it into the settings file once and drop it there, so client.json
    is the only place it is read."""
    legacy = legacy or QSettings(APP_ORGANIZATION, APP_NAME)
    stored = legacy.value("theme")
    if stored is None:
        return config
    legacy.remove("theme")
    if stored not in THEME_MODES or "theme" in read_settings_file(config.settings_file):
        return config  # nothing usable, or chosen again since: the file has the say
    update_settings_file(config.settings_file, {"theme": stored})
    return config.model_copy(update={"theme": stored})
