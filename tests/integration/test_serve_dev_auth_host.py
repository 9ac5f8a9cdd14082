"""`imagegen serve --dev-auth` listens on loopback only, unless --allow-remote-dev-auth says
otherwise: anyone who reaches a dev-auth server can mint a token for any user."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.server import _parser, build_serve_config, is_loopback_host, serve_main

REPO = Path(__file__).resolve().parents[2]
REMOTE_HOSTS = ("0.0.0.0", "::", "", "192.168.1.20", "10.0.0.5", "example.com", "fe80::1")
LOOPBACK_HOSTS = ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST")


@pytest.fixture(autouse=True)
def no_clerk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLERK_JWKS_URL", raising=False)


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", REMOTE_HOSTS)
def test_non_loopback_hosts(host: str) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize("host", REMOTE_HOSTS)
def test_dev_auth_on_a_remote_host_is_refused(
    host: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--dev-auth", "--host", host, "--port", "1", "--data-dir", str(tmp_path)]
    assert serve_main(argv) == 2  # returns before any server (port 1 is never bound)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "--allow-remote-dev-auth" in err and "--dev-auth" in err and "loopback" in err


@pytest.mark.parametrize("host", REMOTE_HOSTS)
def test_allow_remote_dev_auth_lets_it_through(host: str, tmp_path: Path) -> None:
    args = _parser().parse_args(
        ["--dev-auth", "--allow-remote-dev-auth", "--host", host, "--data-dir", str(tmp_path)]
    )
    config = build_serve_config(args)
    assert config.dev_auth is True


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
def test_dev_auth_on_loopback_needs_no_flag(host: str, tmp_path: Path) -> None:
    args = _parser().parse_args(["--dev-auth", "--host", host, "--data-dir", str(tmp_path)])
    assert build_serve_config(args).dev_auth is True


def test_default_host_is_loopback(tmp_path: Path) -> None:
    args = _parser().parse_args(["--dev-auth", "--data-dir", str(tmp_path)])
    assert build_serve_config(args).dev_auth is True


def test_clerk_auth_may_listen_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # With Clerk configured --dev-auth is inert (Clerk wins), so a public host is fine.
    monkeypatch.setenv("CLERK_JWKS_URL", "https://clerk.example.com/.well-known/jwks.json")
    for flags in ([], ["--dev-auth"]):
        args = _parser().parse_args([*flags, "--host", "0.0.0.0", "--data-dir", str(tmp_path)])
        assert build_serve_config(args).dev_auth is False


def test_the_real_command_exits_non_zero(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CLERK_JWKS_URL"}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from backend.server import serve_main; sys.exit(serve_main(sys.argv[1:]))",
            "--dev-auth",
            "--host",
            "0.0.0.0",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "--allow-remote-dev-auth" in proc.stderr
    assert "imagegen backend on" not in proc.stdout  # never started
