"""Up/Down in the prompt walk earlier prompts, like a shell's history.

Up in an empty prompt shows the latest prompt, Up again an older one, Down a newer one and,
past the newest, the empty prompt again. Typing (any edit the walk did not make) stops the
walk, so Up/Down move the cursor as usual. In a prompt of several lines the keys walk only
from the first line (Up) or the last line (Down): anywhere else they move the cursor.

The entries are strings the controller hands over from the engine's `PromptHistory`; this
module only remembers where the walk is.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit


class HistoryWalk:
    """Where a walk through ``entries`` (newest first) is: ``index`` None when not walking."""

    def __init__(self) -> None:
        self.entries: list[str] = []
        self.index: int | None = None

    @property
    def walking(self) -> bool:
        return self.index is not None

    @property
    def shown(self) -> str | None:
        """The entry the walk put in the prompt (None when not walking)."""
        return None if self.index is None else self.entries[self.index]

    def set_entries(self, entries: Sequence[str]) -> None:
        """New entries; a walk goes on at the entry it shows, if that is still there."""
        shown = self.shown
        self.entries = list(entries)
        self.index = self.entries.index(shown) if shown in self.entries else None

    def older(self, text: str) -> str | None:
        """The entry Up shows for the prompt ``text``; None when Up should move the cursor."""
        if self.index is None:
            if text.strip() or not self.entries:
                return None  # the walk starts only from an empty prompt
            self.index = 0
        elif self.index + 1 < len(self.entries):
            self.index += 1
        else:
            return None  # already at the oldest
        return self.entries[self.index]

    def newer(self) -> str | None:
        """The text Down shows: a newer entry, "" past the newest, None when not walking."""
        if self.index is None:
            return None
        if self.index == 0:
            self.index = None
            return ""
        self.index -= 1
        return self.entries[self.index]

    def stop(self) -> None:
        self.index = None


def _cursor_can_move(editor: QPlainTextEdit, move: QTextCursor.MoveOperation) -> bool:
    """Whether the text cursor has a line to go to (visual lines: a wrapped prompt too)."""
    probe = QTextCursor(editor.textCursor())
    return probe.movePosition(move)


class HistoryKeys(QObject):
    """The event filter on the prompt's text field that turns Up/Down into the walk."""

    def __init__(self, editor: QPlainTextEdit) -> None:
        super().__init__(editor)
        self.editor = editor
        self.walk = HistoryWalk()
        editor.installEventFilter(self)
        editor.textChanged.connect(self._on_text)

    def set_entries(self, entries: Sequence[str]) -> None:
        self.walk.set_entries(entries)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.editor or event.type() != QEvent.Type.KeyPress:
            return False
        assert isinstance(event, QKeyEvent)
        # Shift+Up selects, Ctrl+Up scrolls: only the bare keys walk.
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if event.key() == Qt.Key.Key_Up:
            if self.walk.walking and _cursor_can_move(self.editor, QTextCursor.MoveOperation.Up):
                return False  # inside a prompt of several lines: move the cursor
            text = self.walk.older(self.editor.toPlainText())
            if text is None:
                return False
            self._show(text, at_first_line=True)
            return True
        if event.key() == Qt.Key.Key_Down and self.walk.walking:
            if _cursor_can_move(self.editor, QTextCursor.MoveOperation.Down):
                return False
            text = self.walk.newer()
            if text is None:
                return False
            self._show(text, at_first_line=False)
            return True
        return False

    def _show(self, text: str, *, at_first_line: bool) -> None:
        """Put ``text`` in the prompt with the cursor where the next key goes on walking:
        after Up on the first line (end of it), after Down at the very end."""
        self.editor.setPlainText(text)
        cursor = self.editor.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if at_first_line:
            cursor.movePosition(QTextCursor.MoveOperation.Start)
            cursor.movePosition(QTextCursor.MoveOperation.EndOfLine)
        self.editor.setTextCursor(cursor)

    def _on_text(self) -> None:
        # The walk's own setPlainText leaves exactly the entry; anything else is typing.
        if self.walk.walking and self.editor.toPlainText() != self.walk.shown:
            self.walk.stop()
