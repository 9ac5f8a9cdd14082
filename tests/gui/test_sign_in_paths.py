"""Every way to sign in from the Settings dialog, end to end against the fake Frontend API.

The real dialog and `SettingsFlow`, a real `ClerkSignIn` and `ClerkTokenProvider`, and
`tests.fakes.clerk_fapi.FakeClerk` over real HTTP. The system browser is a stand-in that
GETs the OAuth page (choosing the account, as a user would at Google) and follows the
redirects with httpx, down to the app's loopback listener.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from gui.app import EngineSession
from gui.engine.clerk_tokens import ClerkTokenProvider
from gui.engine.config import ClientConfig
from gui.engine.events import EventBus
from gui.engine.tasks import spawn
from gui.widgets.settings_dialog import SettingsDialog
from gui.widgets.settings_flow import SettingsFlow
from tests.fakes.clerk_fapi import FakeClerk
from tests.fakes.clerk_support import MemoryStore
from tests.gui.support import until

ANN = "ann@example.test"


class Header(QObject):
    settingsRequested = Signal()


class Window(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.header = Header()
        self.toasts = SimpleNamespace(success=lambda text: None)


class Host(QObject):
    """What SettingsFlow needs of the WindowController: a session, a window, `run`."""

    def __init__(self, session: SimpleNamespace) -> None:
        super().__init__()
        self.session, self.window, self.bus = session, Window(), EventBus()

    def run(self, coro, where: str) -> None:  # type: ignore[no-untyped-def]
        spawn(coro, where=where, bus=self.bus)


def browser(email: str, seen: list[str]) -> Callable[[str], None]:
    """The system browser: the user picks ``email`` on the provider's page."""

    def open_browser(url: str) -> None:
        seen.append(url)
        sep = "&" if "?" in url else "?"
        resp = httpx.get(f"{url}{sep}{urlencode({'approve': email})}", follow_redirects=True)
        assert resp.status_code == 200, resp.text  # the loopback listener's "Signed in" page

    return open_browser


@pytest.fixture
def clerk() -> Iterator[FakeClerk]:
    with FakeClerk() as fake:
        yield fake


Opened = tuple[SettingsDialog, SettingsFlow, ClerkTokenProvider]


@pytest.fixture
def open_dialog(
    run_qasync, clerk: FakeClerk, tmp_path: Path
) -> Callable[[Callable[[Opened], object]], None]:
    """Run ``scenario(dialog, flow, tokens)`` with the Settings dialog open on the fake."""

    def run(scenario: Callable[[Opened], object]) -> None:
        async def main() -> None:
            http = httpx.AsyncClient(timeout=10)
            tokens = ClerkTokenProvider(clerk.url, store=MemoryStore(), client=http)
            config = ClientConfig(
                mode="deployment",
                api_base_url="https://api.example.test",
                convex_url="https://convex.example.test",
                clerk_frontend_url=clerk.url,
                data_dir=tmp_path,
            )
            session = SimpleNamespace(
                config=config, tokens=tokens, needs_sign_in=True, _client=http
            )
            # The running app's own method: a sign-in saving into the session's token store.
            session.clerk_sign_in = partial(EngineSession.clerk_sign_in, session)
            host = Host(session)
            flow = SettingsFlow(host)  # type: ignore[arg-type]
            dialog = flow.open()
            try:
                await scenario((dialog, flow, tokens))  # type: ignore[misc]
            finally:
                dialog.reject()
                await http.aclose()

        run_qasync(main)

    return run


async def signed_in_as(dialog: SettingsDialog, tokens: ClerkTokenProvider, who: str) -> None:
    panel = dialog.sign_in
    try:
        await until(lambda: panel.page == "signed", 20)
    except AssertionError:
        raise AssertionError(
            (panel.page, panel.status.text(), panel._busy, panel._wait_left)
        ) from None
    assert panel.who.text() == f"Signed in as {who}."
    assert not panel.status.isVisibleTo(panel)  # the running app uses it at once
    assert tokens.signed_in
    claims = jwt.decode(await tokens.token(), options={"verify_signature": False})
    assert claims["sid"] and "azp" not in claims  # a Clerk session token, desktop-shaped


async def email_step(dialog: SettingsDialog, email: str) -> None:
    panel = dialog.sign_in
    panel.email_button.click()
    assert panel.page == "email"
    panel.email.setText(email)


async def password_step(dialog: SettingsDialog, email: str, password: str) -> None:
    """Type ``email``, then ``password``, and submit it."""
    panel = dialog.sign_in
    await email_step(dialog, email)
    assert not panel.password_button.isEnabled()  # nothing typed yet
    panel.password.setText(password)
    panel.password_button.click()


@pytest.mark.parametrize(("provider", "known"), [("google", True), ("apple", False)])
def test_browser_sign_in(open_dialog, clerk: FakeClerk, provider: str, known: bool) -> None:
    """Google for a known user; Apple for a first-time one (transferable -> sign-up)."""
    if known:
        clerk.add_user(ANN, oauth=("google",))
    seen: list[str] = []

    async def scenario(opened: Opened) -> None:
        dialog, flow, tokens = opened
        panel = dialog.sign_in
        flow.open_browser = browser(ANN, seen)
        button = panel.google_button if provider == "google" else panel.apple_button
        assert button.text() == f"Continue with {provider.title()}"
        button.click()
        assert panel.page == "waiting"  # at once, before any network
        assert "Waiting for the browser" in panel.waiting_label.text()
        await signed_in_as(dialog, tokens, ANN)
        assert len(seen) == 1 and provider in seen[0]
        assert ANN in clerk.users  # made by the sign-up when it was new

    open_dialog(scenario)


def test_cancel_while_the_browser_waits(open_dialog, clerk: FakeClerk) -> None:
    opened_urls: list[str] = []

    async def scenario(opened: Opened) -> None:
        dialog, flow, tokens = opened
        panel = dialog.sign_in
        flow.open_browser = opened_urls.append  # the user never finishes in the browser
        panel.google_button.click()
        await until(lambda: bool(opened_urls))
        assert panel.cancel_button.isEnabled()
        panel.cancel_button.click()
        assert panel.page == "choose" and panel.google_button.isEnabled()
        await asyncio.sleep(0.1)
        assert not tokens.signed_in and panel.page == "choose"

    open_dialog(scenario)


def test_email_code(open_dialog, clerk: FakeClerk) -> None:
    clerk.add_user(ANN)  # no password: a code is the way in

    async def scenario(opened: Opened) -> None:
        dialog, _flow, tokens = opened
        panel = dialog.sign_in
        await email_step(dialog, ANN)
        panel.send_code_button.click()
        await until(lambda: panel.page == "code")
        assert "code we emailed to" in panel.code_prompt.text()
        assert not panel.code_button.isEnabled()  # nothing typed yet
        panel.code.setText(clerk.last_code(ANN))
        panel.code.returnPressed.emit()  # Enter verifies too
        await signed_in_as(dialog, tokens, ANN)

    open_dialog(scenario)


@pytest.mark.parametrize("step", ["none", "second_factor", "client_trust"])
def test_password(open_dialog, clerk: FakeClerk, step: str) -> None:
    """Password alone; then MFA (authenticator code); then Client Trust (emailed code)."""
    clerk.add_user(ANN, password="pw", second_factor="totp" if step == "second_factor" else None)
    clerk.instance.client_trust = step == "client_trust"

    async def scenario(opened: Opened) -> None:
        dialog, _flow, tokens = opened
        panel = dialog.sign_in
        await password_step(dialog, ANN, "pw")
        if step != "none":
            await until(lambda: panel.page == "code")
            if step == "second_factor":
                assert "authenticator app" in panel.code_prompt.text()
                panel.code.setText("424242")
            else:
                assert "This device is new to your account" in panel.code_prompt.text()
                panel.code.setText(clerk.last_code(ANN))
            panel.code_button.click()
        await signed_in_as(dialog, tokens, ANN)
        assert panel.password.text() == ""  # not kept once used
        assert "pw" not in dialog.result_config().model_dump_json()

    open_dialog(scenario)


def test_errors_in_clerks_words(open_dialog, clerk: FakeClerk) -> None:
    clerk.add_user(ANN, password="pw")

    async def scenario(opened: Opened) -> None:
        dialog, _flow, tokens = opened
        panel = dialog.sign_in
        await password_step(dialog, ANN, "wrong")
        await until(lambda: panel.status.objectName() == "Error")
        assert panel.status.text() == "Password is incorrect. Try again, or use another method."
        assert panel.page == "email" and panel.password_button.isEnabled()
        assert not tokens.signed_in
        panel.send_code_button.click()  # a wrong code is refused in Clerk's words as well
        await until(lambda: panel.page == "code")
        panel.code.setText("000000")
        panel.code_button.click()
        await until(lambda: panel.status.objectName() == "Error")
        assert panel.page == "code" and panel.status.text()

    open_dialog(scenario)


def test_rate_limit_counts_down(open_dialog, clerk: FakeClerk) -> None:
    clerk.add_user(ANN, password="pw")
    clerk.instance.sign_in_limit = 1
    clerk.instance.sign_in_window_s = 3

    async def scenario(opened: Opened) -> None:
        dialog, _flow, tokens = opened
        panel = dialog.sign_in
        await password_step(dialog, ANN, "wrong")
        await until(lambda: "incorrect" in panel.status.text())
        panel.password.setText("pw")
        panel.password_button.click()
        await until(lambda: panel.status.text().startswith("Too many attempts"))
        assert panel.status.text().endswith(" s.") and "try again in" in panel.status.text()
        assert not panel.password_button.isEnabled() and not panel.send_code_button.isEnabled()
        await until(lambda: panel.password_button.isEnabled(), 10)  # the wait is over
        assert not panel.status.isVisibleTo(panel)
        panel.password_button.click()
        await signed_in_as(dialog, tokens, ANN)

    open_dialog(scenario)


def test_sign_out_ends_the_session_at_clerk(open_dialog, clerk: FakeClerk) -> None:
    clerk.add_user(ANN, password="pw")

    async def scenario(opened: Opened) -> None:
        dialog, flow, tokens = opened
        panel = dialog.sign_in
        await password_step(dialog, ANN, "pw")
        await signed_in_as(dialog, tokens, ANN)
        assert flow.who() == ANN
        [session] = clerk.sessions.values()
        panel.sign_out_button.click()
        await until(lambda: panel.page == "choose")
        assert panel.status.text() == "Signed out."
        assert session.status != "active"  # ended at Clerk, not only forgotten here
        assert not tokens.signed_in and flow.who() is None

    open_dialog(scenario)


def test_reopened_dialog_shows_who_is_signed_in(open_dialog, clerk: FakeClerk) -> None:
    clerk.add_user(ANN, password="pw")

    async def scenario(opened: Opened) -> None:
        dialog, flow, tokens = opened
        await password_step(dialog, ANN, "pw")
        await signed_in_as(dialog, tokens, ANN)
        dialog.reject()
        again = flow.open()
        try:
            assert again.sign_in.page == "signed"
            assert again.sign_in.who.text() == f"Signed in as {ANN}."
        finally:
            again.reject()

    open_dialog(scenario)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_password_field_follows_the_instance(
    open_dialog, clerk: FakeClerk, enabled: bool
) -> None:
    """An instance that signs in with codes only offers no password field (Clerk's
    /v1/environment); one that allows passwords does."""
    clerk.add_user(ANN, password="pw")
    clerk.instance.password_enabled = enabled

    async def scenario(opened: Opened) -> None:
        dialog, _flow, _tokens = opened
        panel = dialog.sign_in
        await email_step(dialog, ANN)
        await until(lambda: panel.password_row.isVisibleTo(dialog) is enabled)
        assert panel.send_code_button.isVisibleTo(dialog)

    open_dialog(scenario)
