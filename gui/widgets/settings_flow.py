"""The Settings dialog's owner: opening it, signing in from it, saving what it edited.

Signing in runs `sign_in` on the engine session's Clerk provider through the controller's
`run` (gui.engine.tasks.spawn); the dialog only shows the outcome. When the app starts on a
deployment that signs in with Clerk and no sign-in is stored, `prompt_sign_in` opens the
dialog with a message instead of failing, and loads the window's data once signed in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication

from gui.engine.config import save_client_config
from gui.engine.tasks import describe_exception
from gui.engine.tokens import ClerkTokenProvider, SignInError
from gui.widgets import theme
from gui.widgets.settings_dialog import SettingsDialog

if TYPE_CHECKING:
    from gui.widgets.controller import WindowController


class SettingsFlow(QObject):
    def __init__(self, controller: WindowController) -> None:
        super().__init__(controller)
        self.c = controller
        self.dialog: SettingsDialog | None = None
        self._after_sign_in: list[Callable[[], None]] = []
        controller.window.header.settingsRequested.connect(self.open)

    def status(self) -> str:
        tokens = self.c.session.tokens
        if not isinstance(tokens, ClerkTokenProvider):
            return ""
        return f"Signed in as {tokens.email}." if tokens.signed_in else "Not signed in yet."

    def open(self, message: str = "") -> SettingsDialog:
        dialog = SettingsDialog(self.c.session.config, self.c.window, self.status())
        dialog.set_message(message)
        dialog.signInRequested.connect(self.sign_in)
        dialog.accepted.connect(lambda: self._saved(dialog))
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        return dialog

    def prompt_sign_in(self, then: Callable[[], None]) -> SettingsDialog:
        """Ask for the password of the configured account; `then` runs once signed in."""
        self._after_sign_in.append(then)
        config = self.c.session.config
        dialog = self.open(
            f"Sign in to continue: enter the password for {config.email} and press Sign in."
        )
        dialog.password.setFocus()
        return dialog

    def sign_in(self, url: str, email: str, password: str) -> None:
        dialog = self.dialog
        if dialog is not None:
            self.c.run(self._sign_in(dialog, url, email, password), "signing in")

    async def _sign_in(self, dialog: SettingsDialog, url: str, email: str, password: str) -> None:
        provider = self.c.session.sign_in_provider(url, email)
        try:
            await provider.sign_in(password)
        except SignInError as exc:
            dialog.set_sign_in_result(False, str(exc))
            return
        except Exception as exc:  # shown here, and reported by spawn as well
            dialog.set_sign_in_result(False, describe_exception(exc))
            raise
        live = provider is self.c.session.tokens
        dialog.set_sign_in_result(
            True,
            f"Signed in as {email}."
            if live
            else f"Signed in as {email}. Save, then restart Imagegen to use this account.",
        )
        if live:
            callbacks, self._after_sign_in = self._after_sign_in, []
            for callback in callbacks:
                callback()

    def _saved(self, dialog: SettingsDialog) -> None:
        save_client_config(dialog.result_config())
        app = QGuiApplication.instance()
        theme.apply_theme(app, dialog.selected_theme())  # type: ignore[arg-type]
        self.c.window.toasts.success("Settings saved. Connection changes apply after a restart.")
