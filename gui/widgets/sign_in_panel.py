"""The sign-in part of the Settings dialog: Google, Apple or email, then a code if asked.

A state machine over five pages, one shown at a time; it never signs in itself (widgets do no HTTP).
Each button emits a request signal; the owner (gui.widgets.settings_flow) runs it through
the engine's ClerkSignIn and reports back with `show_step`, `show_error`, `show_signed_in`
or `show_signed_out`. Pages:

- choose:  "Continue with Google", "Continue with Apple", "Continue with email"
- email:   the email, a password field with "Sign in" (while the instance allows
           passwords), and "Send code"
- code:    the code Clerk sent for a first factor, a second factor or client trust
- waiting: "Waiting for the browser…" with Cancel
- signed:  who is signed in, with "Sign out"

Errors are shown inline, in Clerk's own words; a rate limit counts its wait down and keeps
the buttons disabled until it has passed. The password is only held by its field.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

PAGES = ("choose", "email", "code", "waiting", "signed")


def _button(text: str, name: str = "") -> QPushButton:
    button = QPushButton(text)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    if name:
        button.setObjectName(name)
    return button


def _page(*rows: QWidget | QHBoxLayout) -> QWidget:
    page = QWidget()
    box = QVBoxLayout(page)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(8)
    for row in rows:
        if isinstance(row, QHBoxLayout):
            box.addLayout(row)
        else:
            box.addWidget(row)
    return page


def _row(*widgets: QWidget | None) -> QHBoxLayout:
    """Widgets side by side; the first stretches, or a None between them does."""
    row = QHBoxLayout()
    row.setSpacing(8)
    stretch = None not in widgets
    for i, widget in enumerate(widgets):
        if widget is None:
            row.addStretch(1)
        else:
            row.addWidget(widget, 1 if (i == 0 and stretch) else 0)
    return row


class SignInPanel(QWidget):
    oauthRequested = Signal(str)  # "google" | "apple"
    passwordRequested = Signal(str, str)  # email, password
    codeRequested = Signal(str)  # email: send a code to it
    codeSubmitted = Signal(str)  # the code the user typed
    cancelRequested = Signal()  # stop waiting for the browser
    signOutRequested = Signal()
    contentChanged = Signal()  # a step or a message shown: the height it needs changed

    def __init__(self, email: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._busy = False
        self._wait_left = 0  # whole seconds shown; 0 once Clerk's wait is over
        self._wait_until = 0.0  # time.monotonic() when it is over
        self._countdown = QTimer(self)
        self._countdown.setSingleShot(True)
        self._countdown.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer fires early
        self._countdown.timeout.connect(self._tick)

        # choose
        self.google_button = _button("Continue with Google")
        self.apple_button = _button("Continue with Apple")
        self.email_button = _button("Continue with email")
        choose = _page(self.google_button, self.apple_button, self.email_button)

        # email
        self.email = QLineEdit(email)
        self.email.setPlaceholderText("you@example.com")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("Password (not saved)")
        self.password_button = _button("Sign in", "Primary")
        self.send_code_button = _button("Send code")
        self.email_back = _button("Back", "Ghost")
        self.password_row = QWidget()
        self.password_row.setLayout(_row(self.password, self.password_button))
        self.password_row.layout().setContentsMargins(0, 0, 0, 0)
        email_page = _page(
            self.email,
            self.password_row,
            _row(self.email_back, None, self.send_code_button),
        )

        # code
        self.code_prompt = QLabel()
        self.code_prompt.setWordWrap(True)
        self.code = QLineEdit()
        self.code.setPlaceholderText("Code")
        self.code.setMaxLength(12)
        self.code_button = _button("Verify", "Primary")
        self.code_back = _button("Start over", "Ghost")
        code_page = _page(
            self.code_prompt, _row(self.code, self.code_button), _row(self.code_back, None)
        )

        # waiting
        self.waiting_label = QLabel("Waiting for the browser…")
        self.waiting_label.setWordWrap(True)
        self.cancel_button = _button("Cancel")
        waiting = _page(_row(self.waiting_label, self.cancel_button))

        # signed in
        self.who = QLabel()
        self.who.setObjectName("Success")
        self.who.setWordWrap(True)
        self.sign_out_button = _button("Sign out", "Danger")
        signed = _page(_row(self.who, self.sign_out_button))

        pages = (choose, email_page, code_page, waiting, signed)
        self._pages = dict(zip(PAGES, pages, strict=True))
        self._page = "choose"
        self.status = QLabel()  # progress, or the error in Clerk's own words
        self.status.setObjectName("Muted")
        self.status.setWordWrap(True)
        self.status.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        for page in self._pages.values():  # one shown at a time
            layout.addWidget(page)
        layout.addWidget(self.status)

        self.google_button.clicked.connect(lambda: self._oauth("google"))
        self.apple_button.clicked.connect(lambda: self._oauth("apple"))
        self.email_button.clicked.connect(lambda: self._go("email", self.email))
        self.email_back.clicked.connect(self.show_signed_out)
        self.code_back.clicked.connect(self.show_signed_out)
        self.password_button.clicked.connect(self._request_password)
        self.password.returnPressed.connect(self._request_password)
        self.send_code_button.clicked.connect(self._request_code)
        self.email.returnPressed.connect(self._email_enter)
        self.code_button.clicked.connect(self._submit_code)
        self.code.returnPressed.connect(self._submit_code)
        self.cancel_button.clicked.connect(self.cancelRequested.emit)
        self.sign_out_button.clicked.connect(self._request_sign_out)
        for field in (self.email, self.password, self.code):
            field.textChanged.connect(self._sync)
        self._go("choose")

    # -- what the owner calls ----------------------------------------------------------------
    @property
    def page(self) -> str:
        return self._page

    def set_password_allowed(self, allowed: bool) -> None:
        """Whether the instance signs in with passwords (else only codes are offered)."""
        self.password_row.setVisible(allowed)
        if not allowed:
            self.password.clear()

    def show_signed_out(self) -> None:
        self._done()
        self.password.clear()
        self.code.clear()
        self._go("choose")

    def show_signed_in(self, who: str) -> None:
        self._done()
        self.password.clear()  # done with it: it is not kept anywhere
        self.code.clear()
        self.who.setText(f"Signed in as {who}.")
        self._go("signed", self.sign_out_button)

    def show_waiting(self, provider: str) -> None:
        self._done(busy=True)
        self.waiting_label.setText(
            f"Waiting for the browser… Finish signing in with {provider.title()} there."
        )
        self._go("waiting", self.cancel_button)
        self.cancel_button.setEnabled(True)

    def show_step(self, status: str, message: str = "", destination: str | None = None) -> None:
        """A step Clerk asks for next: a code (any purpose), or the password."""
        self._done()
        if status == "needs_password":
            self.password_row.show()
            self._go("email", self.password)
            self.show_status(message)
            return
        text = message or (
            f"Enter the code sent to {destination}." if destination else "Enter the code."
        )
        self.code_prompt.setText(text)
        self.code.clear()
        self._go("code", self.code)

    def show_progress(self, text: str) -> None:
        self._busy = True
        self.show_status(text)
        self._sync()

    def show_error(self, message: str, retry_after_s: float | None = None) -> None:
        """Clerk's words; a rate limit waits out ``retry_after_s`` before allowing more."""
        self._done()
        if retry_after_s is not None and retry_after_s > 0:
            self._wait_until = time.monotonic() + retry_after_s
            self._tick()
        else:
            self.show_status(message, "Error")
        if self.page == "waiting":
            self._go("choose")
        self._sync()

    def show_status(self, text: str, kind: str = "Muted") -> None:
        shown = self.status.isVisibleTo(self)
        self.status.setText(text)
        self.status.setVisible(bool(text))
        if shown or text:
            self.contentChanged.emit()
        if self.status.objectName() != kind:
            self.status.setObjectName(kind)
            self.status.style().unpolish(self.status)
            self.status.style().polish(self.status)

    # -- internals -----------------------------------------------------------------------------
    def _go(self, page: str, focus: QWidget | None = None) -> None:
        self._page = page
        for name, widget in self._pages.items():
            widget.setVisible(name == page)
        self._sync()
        self.contentChanged.emit()
        if focus is not None:
            focus.setFocus()

    def _done(self, busy: bool = False) -> None:
        self._busy = busy
        self.show_status("")

    def _tick(self) -> None:
        """Count Clerk's wait down by the clock; wake when the shown number changes."""
        left = self._wait_until - time.monotonic()
        self._wait_left = max(0, math.ceil(left))
        if self._wait_left <= 0:
            self.show_status("")
        else:
            self._show_wait()
            self._countdown.start(int((left - (self._wait_left - 1)) * 1000) + 1)
        self._sync()

    def _show_wait(self) -> None:
        self.show_status(f"Too many attempts; try again in {self._wait_left} s.", "Error")

    def _sync(self) -> None:
        idle = not self._busy and self._wait_left <= 0
        email = bool(self.email.text().strip())
        for button in (self.google_button, self.apple_button, self.email_button):
            button.setEnabled(idle)
        self.password_button.setEnabled(idle and email and bool(self.password.text()))
        self.send_code_button.setEnabled(idle and email)
        self.code_button.setEnabled(idle and bool(self.code.text().strip()))
        self.sign_out_button.setEnabled(not self._busy)
        for back in (self.email_back, self.code_back):
            back.setEnabled(not self._busy)

    def _oauth(self, provider: str) -> None:
        if self.google_button.isEnabled():
            self.oauthRequested.emit(provider)

    def _email_enter(self) -> None:
        if self.password_row.isVisible() and self.password.text():
            self._request_password()
        elif self.password_row.isVisible():
            self.password.setFocus()
        else:
            self._request_code()

    def _request_password(self) -> None:
        if self.password_button.isEnabled():
            self.show_progress("Signing in…")
            self.passwordRequested.emit(self.email.text().strip(), self.password.text())

    def _request_code(self) -> None:
        if self.send_code_button.isEnabled():
            self.show_progress("Sending a code…")
            self.codeRequested.emit(self.email.text().strip())

    def _submit_code(self) -> None:
        if self.code_button.isEnabled():
            self.show_progress("Checking the code…")
            self.codeSubmitted.emit(self.code.text().strip())

    def _request_sign_out(self) -> None:
        if self.sign_out_button.isEnabled():
            self.show_progress("Signing out…")
            self.signOutRequested.emit()
