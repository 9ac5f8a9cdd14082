"""`imagegen generate --clerk-url [--email | --oauth]`: password from the terminal or
IMAGEGEN_PASSWORD, email codes, second factors, Google through the browser; the sign-in kept
in the keyring. Clerk is the fake Frontend API; the deployment is the real backend in Clerk
mode, which accepts only the fake's session JWTs.
"""

# ruff: noqa: F811  (the fixtures imported from clerk_support)

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from backend.server import EmbeddedBackend
from gui.app import generate_main
from gui.engine import cli_generate
from gui.engine.tokens import KeyringStore
from tests.fakes.clerk_fapi import FakeClerk
from tests.fakes.clerk_support import clerk_backend, clerk_fapi  # noqa: F401

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
    monkeypatch.delenv("IMAGEGEN_EMAIL_CODE", raising=False)
    return fake


def sign_ins(clerk: FakeClerk) -> int:
    return sum(r.method == "POST" and r.path == "/v1/client/sign_ins" for r in clerk.requests)


def _args(backend: EmbeddedBackend, clerk: FakeClerk, *extra: str) -> list[str]:
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
        clerk.url,
        *(extra or ("--email", EMAIL)),
    ]


@dataclass
class Cli:
    """`imagegen generate` against the Clerk-mode backend and the fake, with a fake keyring."""

    backend: EmbeddedBackend
    clerk: FakeClerk
    keyring: FakeKeyring
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def terminal(self, isatty: bool) -> None:
        self.monkeypatch.setattr(cli_generate.sys.stdin, "isatty", lambda: isatty, raising=False)

    def run(self, *extra: str) -> int:
        return generate_main(_args(self.backend, self.clerk, *extra))

    def succeeds(self, *extra: str) -> None:
        assert self.run(*extra) == 0, self.capsys.readouterr().err


@pytest.fixture
def cli(
    clerk_backend: EmbeddedBackend,
    clerk_fapi: FakeClerk,
    keyring: FakeKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    return Cli(clerk_backend, clerk_fapi, keyring, monkeypatch, capsys)


def test_password_from_the_environment_then_the_keyring(cli: Cli) -> None:
    clerk_fapi, keyring = cli.clerk, cli.keyring
    user = clerk_fapi.add_user(EMAIL, password="right")
    cli.terminal(False)
    cli.monkeypatch.setenv("IMAGEGEN_PASSWORD", "right")
    cli.succeeds()
    out = cli.capsys.readouterr()
    assert json.loads(out.out)["status"] == "completed"
    assert f"signed in as {EMAIL}" in out.err
    form = next(r.form for r in clerk_fapi.requests if r.path == "/v1/client/sign_ins")
    assert form["identifier"] == EMAIL and form["password"] == "right"
    saved = {key: value for (_, key), value in keyring.data.items()}
    assert saved[f"clerk:{clerk_fapi.url}:current"] == user.id  # keyed by user id
    assert all("right" not in v for v in keyring.data.values())  # never the password

    # Next run: the keyring's sign-in is used; no password needed, no new sign-in.
    cli.monkeypatch.delenv("IMAGEGEN_PASSWORD")
    cli.succeeds()
    assert sign_ins(clerk_fapi) == 1
    mint = [r for r in clerk_fapi.requests if r.path.endswith("/tokens")][-1]
    assert mint.authorization  # the rotated client token the keyring kept


def test_prompts_on_a_terminal_and_reports_clerks_reason(cli: Cli) -> None:
    cli.clerk.add_user(EMAIL, password="right")
    prompts: list[str] = []
    cli.terminal(True)
    cli.monkeypatch.setattr(
        cli_generate.getpass, "getpass", lambda prompt: prompts.append(prompt) or "wrong"
    )
    assert cli.run() == 1
    err = cli.capsys.readouterr().err
    assert prompts == [f"Password for {EMAIL} (Enter to get an email code instead): "]
    assert "Sign-in failed: Password is incorrect. Try again" in err
    assert f"clerk:{cli.clerk.url}:current" not in {k for (_, k) in cli.keyring.data}


def test_email_code_and_second_factor_on_a_terminal(cli: Cli) -> None:
    cli.clerk.add_user(EMAIL)
    answers = iter(["", "CODE"])  # empty password: send an email code
    cli.terminal(True)

    def getpass(prompt: str) -> str:
        answer = next(answers)
        return cli.clerk.last_code(EMAIL) if answer == "CODE" else answer

    cli.monkeypatch.setattr(cli_generate.getpass, "getpass", getpass)
    cli.succeeds()
    assert "Enter the code we emailed" in cli.capsys.readouterr().err


def test_totp_from_the_environment_without_a_terminal(cli: Cli) -> None:
    cli.clerk.add_user(EMAIL, password="pw", second_factor="totp")
    cli.terminal(False)
    cli.monkeypatch.setenv("IMAGEGEN_PASSWORD", "pw")
    cli.monkeypatch.setenv("IMAGEGEN_EMAIL_CODE", "424242")
    cli.succeeds()


def test_oauth_through_the_browser(cli: Cli) -> None:
    def browser(url: str) -> bool:
        httpx.get(cli.clerk.browser_approve(url, "fresh@example.com"), timeout=10)
        return True

    cli.monkeypatch.setattr(cli_generate.webbrowser, "open", browser)
    cli.succeeds("--oauth", "google")
    err = cli.capsys.readouterr().err
    assert "signed in as fresh@example.com" in err and "Opening your browser" in err


def test_no_terminal_and_no_password_is_a_clear_usage_error(cli: Cli) -> None:
    cli.terminal(False)
    assert cli.run() == 2
    err = cli.capsys.readouterr().err
    assert f"Signing in as {EMAIL} needs a password" in err and "IMAGEGEN_PASSWORD" in err
    assert sign_ins(cli.clerk) == 0
