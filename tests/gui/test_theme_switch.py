"""Switching the theme at runtime: baked colours (header mark, toasts, icons) follow."""

from __future__ import annotations

from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QApplication

from gui.widgets import theme
from gui.widgets.main_window import MainWindow


def _ink(icon: QIcon, size: int) -> str:
    """The colour of the most opaque pixel of an icon (the glyph's stroke), as #rrggbb."""
    image = icon.pixmap(size, size).toImage()
    pixels = [image.pixelColor(x, y) for y in range(image.height()) for x in range(image.width())]
    best = max(pixels, key=QColor.alpha)
    assert best.alpha() > 200, "the icon is empty"
    return best.name()


def _near(color: str, expected: str, step: int = 2) -> bool:
    """Two #rrggbb colours equal within ``step`` per channel (anti-aliasing rounds)."""
    a, b = QColor(color), QColor(expected)
    return all(abs(x - y) <= step for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True))


def test_header_mark_toasts_and_icons_follow_a_theme_switch(qtbot, qapp: QApplication) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    toast = window.toasts.error("Something failed.")
    assert theme.DARK.accent in window.header.mark.styleSheet()
    assert theme.DARK.danger in toast.dot.styleSheet()
    assert _ink(window.header.settings_button.icon(), 18) == theme.DARK.muted
    try:
        theme.apply_theme(qapp, "light")
        assert theme.LIGHT.accent in window.header.mark.styleSheet()
        assert theme.LIGHT.danger in toast.dot.styleSheet()
        assert _ink(toast.close_button.icon(), 12) == theme.LIGHT.muted
        assert _ink(window.header.settings_button.icon(), 18) == theme.LIGHT.muted
        assert _ink(window.prompt_bar.attach_button.icon(), 16) == theme.LIGHT.text
        assert _ink(window.sidebar.new_button.icon(), 14) == theme.LIGHT.text
        ratio = window.prompt_bar.controls.ratio
        # Which ratio comes first follows the default model; a square's outline has no
        # fully opaque pixel at 16 px, so its ink may be off by a rounding step.
        assert _near(_ink(ratio.itemIcon(0), 16), theme.LIGHT.text)
        # A toast shown after the switch starts in the new colours too.
        assert theme.LIGHT.success in window.toasts.success("Saved.").dot.styleSheet()
    finally:
        theme.apply_theme(qapp, "dark")
    assert theme.DARK.accent in window.header.mark.styleSheet()


def test_translucent_accents_keep_the_accent_hue(qtbot) -> None:
    # "#7c5cff1f" in a style sheet is read as #aarrggbb: the empty-state badge turned green.
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    badge = window.grid.empty.icon
    qtbot.waitUntil(badge.isVisible)
    pixel = badge.grab().toImage().pixelColor(badge.width() // 2, 4)
    assert pixel.blue() > pixel.green() + 20, pixel.name()
