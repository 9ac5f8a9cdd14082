"""Clerk sign-in from the Settings dialog, and the prompt when the app starts signed out.

Clerk is the fake Frontend API (tests.fakes.clerk_fapi) over real HTTP; the deployment is a
real backend in Clerk mode, trusting the fake's JWKS and issuer (not the dev keys). Every
sign-in path is in test_sign_in_paths.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gui.app import open_engine
from gui.engine.config import ClientConfig
from gui.engine.tokens import KeyringStore
from gui.widgets.controller import WindowController
from gui.widgets.main_window import MainWindow
from gui.widgets.request_state import RequestState
from tests.fakes.clerk_fapi import FakeClerk
from tests.gui.support import type_and_generate, until
from tests.integration.test_engine_cli_sign_in import FakeKeyring

EMAIL = "me@example.test"


@pytest.fixture
def clerk(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClerk]:
    monkeypatch.setattr(KeyringStore, "_keyring", lambda self, fake=FakeKeyring(): fake)
    with FakeClerk() as fake:
        fake.add_user(EMAIL, password="right")
        yield fake


def test_signed_out_start_prompts_then_signs_in_and_loads(
    run_qasync, backend_factory, clerk: FakeClerk, tmp_path: Path
) -> None:
    backend = backend_factory(
        embedded=False,
        local_providers=True,
        clerk_jwks_url=clerk.jwks_url,
        clerk_issuer=clerk.url,
        authorized_parties=("https://web.example.test",),  # desktop tokens carry no azp
    )
    config = ClientConfig(
        mode="deployment",
        api_base_url=backend.base_url,
        convex_url=backend.convex_url,
        clerk_frontend_url=clerk.url,
        email=EMAIL,
        data_dir=tmp_path / "client",
    )

    async def scenario() -> None:
        session = await open_engine(config, resume=False)
        window = MainWindow(thumb_dir=tmp_path / "thumbs")
        window.show()
        controller = WindowController(window, session)
        try:
            await controller.start()  # does not fail: it asks to sign in
            dialog = controller.settings.dialog
            assert dialog is not None and dialog.isVisible()
            assert dialog.message.isVisibleTo(dialog)
            assert "Sign in to continue" in dialog.message.text()
            panel = dialog.sign_in
            assert panel.page == "choose" and panel.google_button.isEnabled()
            assert window.toasts.messages() == []

            panel.email_button.click()
            assert panel.email.text() == EMAIL  # the configured account, filled in
            assert not panel.password_button.isEnabled()  # no password typed yet
            panel.password.setText("wrong")
            panel.password_button.click()
            await until(lambda: "Password is incorrect" in panel.status.text())
            assert panel.status.objectName() == "Error"
            assert window.header.credits.text() == "— credits"  # still signed out

            panel.password.setText("right")
            panel.password.returnPressed.emit()  # Enter in the field signs in too
            await until(lambda: panel.who.text() == f"Signed in as {EMAIL}.")
            assert panel.password.text() == "" and not dialog.message.isVisibleTo(dialog)
            await until(lambda: window.header.credits.text() != "— credits")  # loaded
            # The password is never part of what Save writes.
            saved = dialog.result_config().model_dump_json()
            assert "right" not in saved and EMAIL in saved
            dialog.reject()

            type_and_generate(window, "a heron", RequestState(model="img-imagen4-preview"))
            await until(lambda: window.generations.items()[0].status == "done")
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)


def test_sign_in_needs_a_url_and_an_email(qtbot) -> None:
    from gui.widgets.settings_dialog import SettingsDialog

    dialog = SettingsDialog(ClientConfig(mode="deployment"))
    qtbot.addWidget(dialog)
    panel = dialog.sign_in
    panel.email_button.click()
    assert not panel.password_button.isEnabled() and not panel.send_code_button.isEnabled()
    panel.email.setText(EMAIL)
    assert panel.send_code_button.isEnabled()
    panel.password.setText("pw")
    assert panel.password_button.isEnabled()
    dialog.clerk_url.setText("clerk.example.test")
    assert dialog.frontend_api_url() is None  # not a URL: said in the dialog, nothing sent
    assert "must start with https://" in panel.status.text()
    dialog.clerk_url.setText("https://clerk.example.test/")
    assert dialog.frontend_api_url() == "https://clerk.example.test"
    with qtbot.waitSignal(panel.passwordRequested) as requested:
        panel.password_button.click()
    assert requested.args == [EMAIL, "pw"]
    assert not panel.password_button.isEnabled()  # until the result comes back
    panel.show_error("Couldn't find your account.")
    assert panel.password_button.isEnabled() and panel.password.text() == "pw"
    assert panel.status.text() == "Couldn't find your account."
