"""JWKS-URL verification (the Clerk path) and require_identity over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from backend.auth.deps import require_identity
from backend.auth.dev_keys import DevKeyPair
from backend.auth.identity import Identity
from backend.auth.verifier import JwtVerifier
from backend.errors import ApiError, install_error_handlers
from backend.runner import ThreadedServer, free_port

ISSUER = "https://clerk.example.test"


@dataclass
class AuthServer:
    keys: DevKeyPair
    base_url: str
    jwks_hits: list[int]


@pytest.fixture(scope="module")
def auth_server() -> Iterator[AuthServer]:
    """Serves a JWKS like Clerk's and one route protected by require_identity."""
    keys = DevKeyPair.generate(issuer=ISSUER)
    hits: list[int] = []
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/.well-known/jwks.json")
    def jwks() -> dict[str, Any]:
        hits.append(1)
        return keys.jwks()

    @app.get("/me")
    def me(identity: Identity = Depends(require_identity)) -> dict[str, str]:
        return {"user": identity.user_id}

    server = ThreadedServer(app)
    app.state.verifier = JwtVerifier.from_jwks_url(
        f"{server.base_url}/.well-known/jwks.json", ISSUER, ("https://app.example",)
    )
    with server:
        yield AuthServer(keys, server.base_url, hits)


def test_jwks_url_verification_is_cached(auth_server: AuthServer) -> None:
    verifier = JwtVerifier.from_jwks_url(f"{auth_server.base_url}/.well-known/jwks.json", ISSUER)
    before = len(auth_server.jwks_hits)
    for sub in ("a", "b", "c"):
        assert verifier.verify(auth_server.keys.issue_token(sub)).user_id == sub
    assert len(auth_server.jwks_hits) - before == 1


async def test_a_fetched_key_verifies_later_tokens_without_a_thread_or_a_fetch(
    auth_server: AuthServer,
) -> None:
    verifier = JwtVerifier.from_jwks_url(f"{auth_server.base_url}/.well-known/jwks.json", ISSUER)
    before = len(auth_server.jwks_hits)
    # First token: the key is unknown, so it is fetched (in a worker thread).
    assert (await verifier.verify_once(auth_server.keys.issue_token("a"))).user_id == "a"
    assert len(auth_server.jwks_hits) - before == 1
    # Later tokens signed by that key: verified on the spot, the coroutine never waits.
    later = verifier.verify_once(auth_server.keys.issue_token("b"))
    with pytest.raises(StopIteration) as done:
        later.send(None)
    assert done.value.value.user_id == "b"
    assert len(auth_server.jwks_hits) - before == 1


def test_unknown_kid_is_unauthorized(auth_server: AuthServer) -> None:
    verifier = JwtVerifier.from_jwks_url(f"{auth_server.base_url}/.well-known/jwks.json", ISSUER)
    stranger = DevKeyPair.generate(issuer=ISSUER)
    with pytest.raises(ApiError) as err:
        verifier.verify(stranger.issue_token("u"))
    assert (err.value.status, err.value.code) == (401, "unauthorized")


def test_unreachable_jwks_is_503() -> None:
    verifier = JwtVerifier.from_jwks_url(f"http://127.0.0.1:{free_port()}/jwks", ISSUER)
    with pytest.raises(ApiError) as err:
        verifier.verify(DevKeyPair.generate(issuer=ISSUER).issue_token("u"))
    assert err.value.status == 503


def test_protected_route_over_http(auth_server: AuthServer) -> None:
    url = f"{auth_server.base_url}/me"
    token = auth_server.keys.issue_token("user_42", azp="https://app.example")
    ok = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    assert (ok.status_code, ok.json()) == (200, {"user": "user_42"})

    missing = httpx.get(url)
    assert missing.status_code == 401
    assert missing.json()["code"] == "unauthorized"
    assert missing.json()["error"].startswith("Sign in again")

    expired = auth_server.keys.issue_token("user_42", now=0)
    r = httpx.get(url, headers={"Authorization": f"Bearer {expired}"})
    assert (r.status_code, r.json()["code"]) == (401, "token_expired")

    wrong_azp = auth_server.keys.issue_token("user_42", azp="https://evil.example")
    r = httpx.get(url, headers={"Authorization": f"Bearer {wrong_azp}"})
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")

    r = httpx.get(url, headers={"Authorization": "Bearer not-a-jwt"})
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
