"""`imagegen serve` as a real process: auth rules, 503 without keys, --local-providers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from backend.server import serve_main
from tests.conftest import dev_token
from tests.integration.routes_support import GENERATE_PATH, api_client, assert_error
from tests.integration.serve_processes import ServeProcesses

Serve = Callable[..., str]


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
    servers = ServeProcesses()

    def start(*flags: str) -> str:
        data_dir = tmp_path / f"srv{len(servers.servers)}"
        return servers.start(["--data-dir", str(data_dir), *flags])

    yield start
    servers.stop_all()


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
