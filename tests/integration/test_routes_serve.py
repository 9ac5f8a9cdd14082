"""`imagegen serve` as a real process: auth rules, 503 without keys, --local-providers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from backend.runner import free_port
from backend.server import serve_main
from tests.conftest import dev_token
from tests.integration.routes_support import GENERATE_PATH, api_client, assert_error

REPO = Path(__file__).resolve().parents[2]
_ENV_KEYS = ("CLERK_JWKS_URL", "FAL_KEY", "FAL_API_KEY", "WAVESPEED_API_KEY", "AZURE_API_KEY")

Serve = Callable[..., str]


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _ENV_KEYS and k != "REDIS_URL"}


def test_serve_refuses_to_start_without_any_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CLERK_JWKS_URL", raising=False)
    assert serve_main(["--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "CLERK_JWKS_URL" in err and "--dev-auth" in err
    assert len(err.splitlines()) == 1


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(*flags: str) -> str:
        port = free_port()
        args = ["--port", str(port), "--data-dir", str(tmp_path / f"srv{port}"), *flags]
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from backend.server import serve_main;"
                " sys.exit(serve_main(sys.argv[1:]))",
                *args,
            ],
            cwd=REPO,
            env=_clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30  # a startup deadline, not a timing assertion
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    return base
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise AssertionError(f"serve exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise AssertionError("serve did not start")
            time.sleep(0.05)

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_without_keys_answers_503_per_provider(serve: Serve) -> None:
    base = serve("--dev-auth")
    health = httpx.get(base + "/healthz").json()
    assert health["mode"] == "server"
    assert health["providers"] == {
        "fal": "not_configured",
        "wavespeed": "not_configured",
        "azure": "not_configured",
    }
    with api_client(base, dev_token(base)) as client:
        for model in ("img-flux-2-max", "img-seedream-v4", "img-gpt-image-1"):
            resp = client.post(GENERATE_PATH, json={"prompt": "a fox", "model": model})
            assert_error(resp, 503, "provider_not_configured")
        # Validation still comes first: a bad request is a 400, not a 503.
        assert_error(client.post(GENERATE_PATH, json={"prompt": ""}), 400, "invalid_request")


def test_serve_with_local_providers_generates(serve: Serve) -> None:
    base = serve("--dev-auth", "--local-providers")
    with api_client(base, dev_token(base)) as client:
        resp = client.post(GENERATE_PATH, json={"prompt": "a fox", "model": "img-imagen4-preview"})
        assert resp.status_code == 200, resp.text
        (image,) = resp.json()["images"]
        assert image["url"].startswith(base + "/files/")
        assert client.get(image["url"]).status_code == 200
