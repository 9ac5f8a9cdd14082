"""Clerk sign-in from the Settings dialog, and the prompt when the app starts signed out.

Clerk is mocked with respx at its HTTP edge; the deployment is a real embedded backend,
whose own JWT stands in for Clerk's session token.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from backend.server import EmbeddedBackend
from gui.app import open_engine
from gui.engine.config import ClientConfig
from gui.engine.tokens import KeyringStore
from gui.widgets.controller import WindowController
from gui.widgets.main_window import MainWindow
from gui.widgets.request_state import RequestState
from tests.conftest import dev_token
from tests.gui.support import type_and_generate, until
from tests.integration.test_engine_cli_sign_in import FakeKeyring

CLERK = "https://clerk.example.test"
EMAIL = "me@example.test"


@pytest.fixture
def clerk(backend: EmbeddedBackend, monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    monkeypatch.setattr(KeyringStore, "_keyring", lambda self, fake=FakeKeyring(): fake)
    session_jwt = dev_token(backend, "clerk-user")

    def sign_in(request: httpx.Request) -> httpx.Response:
        if parse_qs(request.content.decode()).get("password") != ["right"]:
            return httpx.Response(
                422, json={"errors": [{"long_message": "Password is incorrect. Try again."}]}
            )
        return httpx.Response(
            200,
            json={"response": {"status": "complete", "created_session_id": "sess_1"}},
            headers={"Authorization": "client-token-1"},
        )

    with respx.mock(assert_all_called=False) as router:
        router.post(f"{CLERK}/v1/client/sign_ins", name="sign_in").mock(side_effect=sign_in)
        router.post(f"{CLERK}/v1/client/sessions/sess_1/tokens").mock(
            return_value=httpx.Response(200, json={"jwt": session_jwt})
        )
        router.route(host="127.0.0.1").pass_through()
        yield router


def test_signed_out_start_prompts_then_signs_in_and_loads(
    run_qasync, backend: EmbeddedBackend, clerk: respx.MockRouter, tmp_path: Path
) -> None:
    config = ClientConfig(
        mode="deployment",
        api_base_url=backend.base_url,
        convex_url=backend.convex_url,
        clerk_frontend_url=CLERK,
        email=EMAIL,
        data_dir=tmp_path / "client",
    )

    async def scenario() -> None:
        session = await open_engine(config, resume=False)
        window = MainWindow(thumb_dir=tmp_path / "thumbs")
        window.show()
        controller = WindowController(window, session)
        try:
            await controller.start()  # does not fail: it asks for the password
            dialog = controller.settings.dialog
            assert dialog is not None and dialog.isVisible()
            assert dialog.message.isVisibleTo(dialog)
            assert f"enter the password for {EMAIL}" in dialog.message.text()
            assert dialog.sign_in_status.text() == "Not signed in yet."
            assert not dialog.sign_in_button.isEnabled()  # no password typed yet
            assert window.toasts.messages() == []

            dialog.password.setText("wrong")
            dialog.sign_in_button.click()
            await until(lambda: "Password is incorrect" in dialog.sign_in_status.text())
            assert dialog.sign_in_status.objectName() == "Error"
            assert window.header.credits.text() == "— credits"  # still signed out

            dialog.password.setText("right")
            dialog.password.returnPressed.emit()  # Enter in the field signs in too
            await until(lambda: dialog.sign_in_status.text() == f"Signed in as {EMAIL}.")
            assert dialog.password.text() == "" and not dialog.message.isVisibleTo(dialog)
            await until(lambda: window.header.credits.text() != "— credits")  # loaded
            assert clerk["sign_in"].call_count == 2
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


def test_sign_in_is_only_offered_with_url_email_and_password(qtbot) -> None:
    from gui.widgets.settings_dialog import SettingsDialog

    dialog = SettingsDialog(ClientConfig(mode="deployment"))
    qtbot.addWidget(dialog)
    assert not dialog.sign_in_button.isEnabled()
    dialog.clerk_url.setText("clerk.example.test")
    dialog.email.setText(EMAIL)
    dialog.password.setText("pw")
    assert dialog.sign_in_button.isEnabled()
    with qtbot.assertNotEmitted(dialog.signInRequested):
        dialog.sign_in_button.click()  # not a URL: said in the dialog, nothing sent
    assert "must start with https://" in dialog.sign_in_status.text()
    dialog.clerk_url.setText(CLERK + "/")
    with qtbot.waitSignal(dialog.signInRequested) as requested:
        dialog.sign_in_button.click()
    assert requested.args == [CLERK, EMAIL, "pw"]
    assert not dialog.sign_in_button.isEnabled()  # until the result comes back
    dialog.set_sign_in_result(False, "Sign-in failed: no such account.")
    assert dialog.sign_in_button.isEnabled() and dialog.password.text() == "pw"
