"""The library's commands, for the controller: rename and delete sessions (delete asks,
then waits out an undo window in the engine's `SessionTrash`), and the Library dialog
(search and favourites over the engine's local index).

Like `grid_actions.py`, it reaches the engine only through the controller's session and
runs every coroutine through `controller.run`, so a failure becomes a toast.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QPushButton

from gui.widgets.library_view import LibraryDialog
from gui.widgets.session_dialogs import RenameSessionDialog, confirm_delete
from gui.widgets.toasts import Toast

if TYPE_CHECKING:
    from gui.widgets.controller import WindowController


def add_undo_button(toast: Toast, on_undo: Callable[[], None]) -> QPushButton:
    """An Undo button on a toast; clicking it undoes and closes the toast."""
    button = QPushButton("Undo")
    button.setObjectName("UndoButton")

    def clicked() -> None:
        on_undo()
        toast.dismiss()

    button.clicked.connect(clicked)
    layout = toast.layout()
    layout.insertWidget(layout.count() - 1, button)  # type: ignore[attr-defined]
    return button


class LibraryActions(QObject):
    def __init__(self, controller: WindowController) -> None:
        super().__init__(controller)
        self.controller = controller
        self.library = controller.library
        self.window = controller.window
        self.dialog: LibraryDialog | None = None
        self.rename_dialog: RenameSessionDialog | None = None
        self.confirm: QMessageBox | None = None
        self.undo_buttons: dict[str, QPushButton] = {}  # session id -> its toast's Undo
        sidebar = self.window.sidebar
        sidebar.tools.renameRequested.connect(self.ask_rename)
        sidebar.tools.deleteRequested.connect(self.ask_delete)
        sidebar.libraryRequested.connect(self.open_library)
        QShortcut(QKeySequence("Ctrl+Shift+F"), self.window, self.open_library)

    def _run(self, coro: Coroutine[Any, Any, Any], where: str) -> None:
        self.controller.run(coro, where)

    def _title(self, session_id: str) -> str:
        return self.controller.session_titles.get(session_id, "Untitled session")

    # -- rename ---------------------------------------------------------------------------
    def ask_rename(self, session_id: str) -> RenameSessionDialog:
        self.rename_dialog = RenameSessionDialog(session_id, self._title(session_id), self.window)
        self.rename_dialog.renamed.connect(self.rename)
        self.rename_dialog.open()
        return self.rename_dialog

    def rename(self, session_id: str, title: str) -> None:
        self._run(self._rename(session_id, title), "renaming a session")

    async def _rename(self, session_id: str, title: str) -> None:
        try:
            await self.library.rename_session(session_id, title)
        finally:
            self.controller.reload_sessions()  # shows the stored title (or the old one)

    # -- delete, undoably -------------------------------------------------------------------
    def ask_delete(self, session_id: str) -> QMessageBox:
        self.confirm = confirm_delete(self._title(session_id), self.window)

        def answered(button: QAbstractButton) -> None:
            box = self.confirm
            if box is not None and box.buttonRole(button) == QMessageBox.ButtonRole.DestructiveRole:
                self.delete(session_id)

        self.confirm.buttonClicked.connect(answered)
        self.confirm.open()
        return self.confirm

    def delete(self, session_id: str) -> None:
        """Hide the session now; the engine deletes it once the undo window has passed."""
        title = self._title(session_id)
        waiting = self.library.trash.delete_later(session_id)  # pending from this line on
        self._run(self._finish_delete(waiting), "deleting a session")
        if self.controller.current_session == session_id:
            self.controller.new_session()
        self.controller.reload_sessions()
        if self.dialog is not None:
            self.dialog.set_index(self.dialog.index.without_session(session_id))
        toast = self.window.toasts.show_toast(f"Deleted “{title}”.", "undo")
        self.undo_buttons[session_id] = add_undo_button(toast, lambda: self.undo(session_id))

    async def _finish_delete(self, waiting: Coroutine[Any, Any, bool]) -> None:
        try:
            await waiting
        finally:
            # Deleted, undone or refused (a generation still running): show what is true.
            self.controller.reload_sessions()

    def undo(self, session_id: str) -> None:
        self.undo_buttons.pop(session_id, None)
        if self.library.trash.undo(session_id):
            self.controller.reload_sessions()
            self._refresh_library()
        else:
            self.window.toasts.info("Too late to undo: the session is already deleted.")

    # -- the Library dialog -------------------------------------------------------------------
    def open_library(self) -> LibraryDialog:
        if self.dialog is None:
            self.dialog = LibraryDialog(self.window.cache, self.window)
            self.dialog.openRequested.connect(self._open_generation)
        self.dialog.show()
        self.dialog.raise_()
        self._refresh_library()  # read again: generations may have finished since
        return self.dialog

    def _refresh_library(self) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self._run(self._load_index(self.dialog), "loading the library")

    async def _load_index(self, dialog: LibraryDialog) -> None:
        dialog.set_index(await self.library.index())

    def _open_generation(self, session_id: str, _generation_id: str) -> None:
        self.controller.switch_session(session_id)
