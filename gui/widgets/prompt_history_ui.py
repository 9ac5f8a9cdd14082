"""The prompt bar's history: the Up/Down walk, the history menu, its button and Ctrl+H.

One object the prompt bar creates, so the bar itself only places the button. The
controller hands it the engine's prompts (`set_entries`); a prompt chosen from the menu
replaces the text of the prompt.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QKeySequence, QPainter, QPen, QPixmap, QShortcut, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QToolButton, QWidget

from gui.widgets import theme
from gui.widgets.history_menu import HistoryMenu
from gui.widgets.prompt_history_keys import HistoryKeys

SHORTCUT = "Ctrl+H"


def clock_icon(size: int = 16) -> QIcon:
    """A clock face: the history button's glyph, drawn in the theme's text colour."""
    dpr = 2.0
    s = int(size * dpr)
    pixmap = QPixmap(QSize(s, s))
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(theme.current().c("text"), 1.7 * dpr)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    p.drawEllipse(QRectF(s * 0.14, s * 0.14, s * 0.72, s * 0.72))
    p.drawLine(int(s * 0.5), int(s * 0.5), int(s * 0.5), int(s * 0.28))  # minute hand
    p.drawLine(int(s * 0.5), int(s * 0.5), int(s * 0.66), int(s * 0.6))  # hour hand
    p.end()
    pixmap.setDevicePixelRatio(dpr)
    return QIcon(pixmap)


class PromptHistoryControls(QObject):
    def __init__(self, editor: QPlainTextEdit, bar: QWidget) -> None:
        super().__init__(bar)
        self.editor = editor
        self.keys = HistoryKeys(editor)
        self.menu = HistoryMenu(bar)
        self.button = QToolButton()
        self.button.setObjectName("Chip")
        self.button.setToolTip(
            f"Earlier prompts — search and reuse one ({SHORTCUT}; ↑ in an empty prompt)"
        )
        self.button.setAccessibleName("Prompt history")
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # a click leaves focus in the prompt
        self.button.clicked.connect(self.open_menu)
        # Context: the whole bar, so Ctrl+H works from the text field and from the chips.
        shortcut = QShortcut(QKeySequence(SHORTCUT), bar, self.open_menu)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.menu.promptChosen.connect(self.use_prompt)
        self.restyle()
        theme.on_change(self.restyle)

    def restyle(self) -> None:
        self.button.setIcon(clock_icon())

    def set_entries(self, entries: Sequence[str]) -> None:
        """The engine's prompts, newest first (the walk and the menu both use them)."""
        self.keys.set_entries(entries)
        self.menu.set_prompts(entries)

    def open_menu(self) -> None:
        self.menu.open_at(self.editor)

    def use_prompt(self, prompt: str) -> None:
        """The chosen prompt replaces the text, ready to edit or generate."""
        self.keys.walk.stop()
        self.editor.setPlainText(prompt)
        cursor = self.editor.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        self.editor.setTextCursor(cursor)
        self.editor.setFocus()
