"""`imagegen generate --clerk-url --email`: password from the terminal or IMAGEGEN_PASSWORD,
the sign-in kept in the keyring. Clerk is mocked with respx (its HTTP edge only); the
deployment is a real embedded backend, and Clerk's session JWT is one that backend accepts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from backend.server import EmbeddedBackend
from gui.engine import cli_generate
from gui.engine.tokens import KeyringStore
from tests.conftest import dev_token

CLERK = "https://clerk.example.test"
EMAIL = "me@example.test"


class FakeKeyring:
    """Stands in for the OS keyring (tests must never write to the real one)."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, key: str) -> str | None:
        return self.data.get((service, key))

    def set_password(self, service: str, key: str, value: str) -> None:
        self.data[(service, key)] = value

    def delete_password(self, service: str, key: str) -> None:
        self.data.pop((service, key), None)


@pytest.fixture
def keyring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeKeyring:
    fake = FakeKeyring()
    monkeypatch.setattr(KeyringStore, "_keyring", lambda self: fake)
    monkeypatch.setenv("IMAGEGEN_DATA_DIR", str(tmp_path / "client"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("IMAGEGEN_PASSWORD", raising=False)
    monkeypatch.delenv("IMAGEGEN_TOKEN", raising=False)
    return fake


@pytest.fixture
def clerk(backend: EmbeddedBackend) -> Iterator[respx.MockRouter]:
    session_jwt = dev_token(backend, "clerk-user")

    def sign_in(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        if form.get("password") != ["right"]:
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
        router.post(f"{CLERK}/v1/client/sessions/sess_1/tokens", name="tokens").mock(
            return_value=httpx.Response(200, json={"jwt": session_jwt})
        )
        router.route(host="127.0.0.1").pass_through()  # the real backend
        yield router


def _args(backend: EmbeddedBackend) -> list[str]:
    return [
        "--model",
        "img-imagen4-preview",
        "--prompt",
        "a pier",
        "--json",
        "--api-url",
        backend.base_url,
        "--convex-url",
        backend.convex_url,
        "--clerk-url",
        CLERK,
        "--email",
        EMAIL,
    ]


def test_password_from_the_environment_then_the_keyring(
    backend: EmbeddedBackend,
    keyring: FakeKeyring,
    clerk: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("IMAGEGEN_PASSWORD", "right")
    assert cli_generate.main(_args(backend)) == 0, capsys.readouterr().err
    out = capsys.readouterr()
    assert json.loads(out.out)["status"] == "completed"
    assert f"signed in as {EMAIL}" in out.err
    form = parse_qs(clerk["sign_in"].calls[0].request.content.decode())
    assert form["identifier"] == [EMAIL] and form["password"] == ["right"]
    assert "client-token-1" in keyring.data.values()
    assert all("right" not in v for v in keyring.data.values())  # never the password

    # Next run: the keyring's sign-in is used; no password needed, no new sign-in.
    monkeypatch.delenv("IMAGEGEN_PASSWORD")
    assert cli_generate.main(_args(backend)) == 0, capsys.readouterr().err
    assert clerk["sign_in"].call_count == 1
    assert clerk["tokens"].calls[-1].request.headers["authorization"] == "client-token-1"


def test_prompts_on_a_terminal_and_reports_clerks_reason(
    backend: EmbeddedBackend,
    keyring: FakeKeyring,
    clerk: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prompts: list[str] = []
    monkeypatch.setattr(cli_generate.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(
        cli_generate.getpass, "getpass", lambda prompt: prompts.append(prompt) or "wrong"
    )
    assert cli_generate.main(_args(backend)) == 1
    err = capsys.readouterr().err
    assert prompts == [f"Password for {EMAIL}: "]
    assert "Sign-in failed: Password is incorrect. Try again." in err
    assert keyring.data == {}


def test_no_terminal_and_no_password_is_a_clear_usage_error(
    backend: EmbeddedBackend,
    keyring: FakeKeyring,
    clerk: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli_generate.sys.stdin, "isatty", lambda: False, raising=False)
    assert cli_generate.main(_args(backend)) == 2
    err = capsys.readouterr().err
    assert f"Signing in as {EMAIL} needs a password" in err and "IMAGEGEN_PASSWORD" in err
    assert clerk["sign_in"].call_count == 0
