"""The Settings dialog's owner: opening it, signing in from it, saving what it edited.

Signing in runs the engine's `ClerkSignIn` (gui.engine.clerk_sign_in) through the
controller's `run` (gui.engine.tasks.spawn); the dialog's `SignInPanel` only shows each
step. One `ClerkSignIn` per sign-in URL lives as long as the flow, so a code step continues
the attempt that asked for it. A browser sign-in runs as a task that "Cancel" cancels.
When the app starts on a deployment that signs in with Clerk and no sign-in is stored,
`prompt_sign_in` opens the dialog with a message instead of failing, and loads the
window's data once signed in.
"""

from __future__ import annotations

import asyncio
import webbrowser
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication

from gui.engine.clerk_sign_in import ClerkSignIn, ClerkSignInError, SignInStep
from gui.engine.clerk_tokens import ClerkTokenProvider
from gui.engine.config import ClientConfig, save_client_config
from gui.engine.tasks import describe_exception, spawn
from gui.engine.tokens import SignInError
from gui.widgets import theme
from gui.widgets.settings_dialog import SettingsDialog

if TYPE_CHECKING:
    from gui.widgets.controller import WindowController

PROVIDERS = {"google": "Google", "apple": "Apple"}


def error_text(exc: SignInError) -> str:
    """Clerk's own words; a rate limit as the wait it asks for."""
    retry = getattr(exc, "retry_after_s", None)
    if retry:
        return f"Too many attempts; try again in {max(1, round(retry))} s."
    return getattr(exc, "message", "") or describe_exception(exc)


class SettingsFlow(QObject):
    def __init__(self, controller: WindowController) -> None:
        super().__init__(controller)
        self.c = controller
        self.dialog: SettingsDialog | None = None
        self._after_sign_in: list[Callable[[], None]] = []
        self._clerk: ClerkSignIn | None = None
        self._clerk_url = ""
        self.open_browser: Callable[[str], object] | None = None  # None: the system browser
        self._browser: asyncio.Task[Any] | None = None
        # What the dialog last saved: shown when it opens again (connection changes apply
        # only after a restart, so the session's own config is still the start's).
        self.saved: ClientConfig | None = None
        controller.window.header.settingsRequested.connect(self.open)

    # -- the engine's ClerkSignIn ------------------------------------------------------------
    def clerk(self, url: str) -> ClerkSignIn:
        """The sign-in for ``url``: the running session's when it signs in there."""
        if self._clerk is None or self._clerk_url != url:
            self._clerk, self._clerk_url = self.make_sign_in(url), url
        return self._clerk

    def make_sign_in(self, url: str) -> ClerkSignIn:
        """A ClerkSignIn sharing the running session's secret store and HTTP client, so a
        sign-in it saves is the one the session's token provider reads."""
        sign_in: ClerkSignIn = self.c.session.clerk_sign_in(url, open_browser=self._open_browser)
        return sign_in

    def _open_browser(self, url: str) -> object:
        return (self.open_browser or webbrowser.open)(url)

    def _adopt(self) -> bool:
        """Whether the running app now uses the sign-in (else it applies after a restart)."""
        tokens = self.c.session.tokens
        return isinstance(tokens, ClerkTokenProvider) and tokens.signed_in

    def who(self) -> str | None:
        config = self.c.session.config
        if config.mode != "deployment" or not config.clerk_frontend_url:
            return None
        return self.clerk(config.clerk_frontend_url.rstrip("/")).who

    # -- the dialog ----------------------------------------------------------------------------
    def open(self, message: str = "") -> SettingsDialog:
        dialog = SettingsDialog(self.saved or self.c.session.config, self.c.window)
        dialog.set_message(message)
        panel = dialog.sign_in
        who = self.who()
        if who:
            panel.show_signed_in(who)
        panel.oauthRequested.connect(self.with_oauth)
        panel.passwordRequested.connect(self.with_password)
        panel.codeRequested.connect(self.with_email_code)
        panel.codeSubmitted.connect(self.submit_code)
        panel.cancelRequested.connect(self.cancel_browser)
        panel.signOutRequested.connect(self.sign_out)
        dialog.accepted.connect(lambda: self._saved(dialog))
        dialog.finished.connect(lambda _r: self._closed(dialog))
        self.dialog = dialog
        dialog.open()
        config = self.c.session.config
        if config.mode == "deployment" and config.clerk_frontend_url:
            clerk = self.clerk(config.clerk_frontend_url.rstrip("/"))
            self.c.run(self._offer_password(dialog, clerk), "reading Clerk's settings")
        return dialog

    async def _offer_password(self, dialog: SettingsDialog, clerk: ClerkSignIn) -> None:
        """Hide the password field where the instance signs in with codes only."""
        allowed = await clerk.password_enabled()
        if self.dialog is dialog:
            dialog.sign_in.set_password_allowed(allowed)

    def prompt_sign_in(self, then: Callable[[], None]) -> SettingsDialog:
        """Ask the user to sign in; `then` runs once signed in."""
        self._after_sign_in.append(then)
        dialog = self.open("Sign in to continue: choose how below.")
        dialog.sign_in.google_button.setFocus()
        return dialog

    def _closed(self, dialog: SettingsDialog) -> None:
        self.cancel_browser()
        if self.dialog is dialog:
            self.dialog = None

    # -- each path -----------------------------------------------------------------------------
    def with_oauth(self, provider: str) -> None:
        dialog, url = self._target()
        if dialog is None or url is None:
            return
        dialog.sign_in.show_waiting(PROVIDERS.get(provider, provider))
        clerk = self.clerk(url)
        self._browser = self._step(dialog, clerk, clerk.with_oauth(provider), "browser sign-in")

    def with_password(self, email: str, password: str) -> None:
        dialog, url = self._target()
        if dialog is not None and url is not None:
            clerk = self.clerk(url)
            self._step(dialog, clerk, clerk.with_password(email, password), "signing in")

    def with_email_code(self, email: str) -> None:
        dialog, url = self._target()
        if dialog is not None and url is not None:
            clerk = self.clerk(url)
            self._step(dialog, clerk, clerk.with_email_code(email), "sending a code")

    def submit_code(self, code: str) -> None:
        dialog = self.dialog
        if dialog is not None and self._clerk is not None:
            clerk = self._clerk
            self._step(dialog, clerk, clerk.submit_code(code), "checking a code")

    def cancel_browser(self) -> None:
        task, self._browser = self._browser, None
        if task is not None and not task.done():
            task.cancel()
            if self.dialog is not None:
                self.dialog.sign_in.show_signed_out()

    def sign_out(self) -> None:
        dialog, url = self._target()
        if dialog is not None and url is not None:
            self.c.run(self._sign_out(dialog, self.clerk(url)), "signing out")

    # -- running them ----------------------------------------------------------------------------
    def _target(self) -> tuple[SettingsDialog | None, str | None]:
        dialog = self.dialog
        return dialog, (dialog.frontend_api_url() if dialog is not None else None)

    def _step(
        self,
        dialog: SettingsDialog,
        clerk: ClerkSignIn,
        call: Coroutine[Any, Any, SignInStep],
        where: str,
    ) -> asyncio.Task[Any]:
        return spawn(self._run_step(dialog, clerk, call), where=where, bus=self.c.bus)

    async def _run_step(
        self, dialog: SettingsDialog, clerk: ClerkSignIn, call: Coroutine[Any, Any, SignInStep]
    ) -> None:
        panel = dialog.sign_in
        try:
            step = await call
        except asyncio.CancelledError:
            raise
        except ClerkSignInError as exc:
            panel.show_error(error_text(exc), exc.retry_after_s)
            return
        except SignInError as exc:
            panel.show_error(error_text(exc))
            return
        except Exception as exc:  # shown here, and reported by spawn as well
            panel.show_error(describe_exception(exc))
            raise
        if step.status != "complete":
            panel.show_step(step.status, step.message, step.destination)
            return
        who = clerk.who or "your account"
        if "@" in who:
            panel.email.setText(who)  # saved as the account's hint (the keyring is by user id)
        live = self._adopt()
        dialog.set_message("")
        panel.show_signed_in(who)
        if not live:
            panel.show_status("Save, then restart Imagegen to use this account.")
            return
        callbacks, self._after_sign_in = self._after_sign_in, []
        for callback in callbacks:
            callback()

    async def _sign_out(self, dialog: SettingsDialog, clerk: ClerkSignIn) -> None:
        try:
            await clerk.sign_out()
        except SignInError as exc:
            dialog.sign_in.show_error(error_text(exc))
            return
        tokens = self.c.session.tokens
        if isinstance(tokens, ClerkTokenProvider) and tokens.matches(self._clerk_url):
            tokens.sign_out()  # drops the session token it still holds
        dialog.sign_in.show_signed_out()
        dialog.sign_in.show_status("Signed out.")

    def _saved(self, dialog: SettingsDialog) -> None:
        self.saved = dialog.result_config()
        save_client_config(self.saved)
        app = QGuiApplication.instance()
        theme.apply_theme(app, dialog.selected_theme())  # type: ignore[arg-type]
        self.c.window.toasts.success("Settings saved. Connection changes apply after a restart.")
