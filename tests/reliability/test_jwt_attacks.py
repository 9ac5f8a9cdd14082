"""JWT attacks against every authenticated surface (API routes and the Convex host):
each is a 401 with a sentence, and never reaches a handler."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.auth.dev_keys import DevKeyPair
from backend.server import EmbeddedBackend
from tests.conftest import BackendFactory
from tests.reliability.conftest import assert_api_error, bearer, token_for

PARTY = "https://app.example"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(signature)}"


def _claims(keys: DevKeyPair, sub: str = "victim", **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub, "iss": keys.issuer, "iat": now, "nbf": now - 1, "exp": now + 60, **extra}


def _sign(keys: DevKeyPair, claims: dict[str, Any], key: Any = None, kid: str | None = None) -> str:
    return jwt.encode(
        claims, key or keys.private_key, algorithm="RS256", headers={"kid": kid or keys.kid}
    )


def _attacks(keys: DevKeyPair) -> dict[str, str]:
    claims = _claims(keys)
    public_pem = keys.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": keys.kid}).encode())
    hs_body = _b64(json.dumps(claims).encode())
    hs_sig = hmac.new(public_pem, f"{hs_head}.{hs_body}".encode(), hashlib.sha256).digest()
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    valid = _sign(keys, claims)
    head, body, sig = valid.split(".")
    tampered_body = _b64(json.dumps({**claims, "sub": "someone-else"}).encode())
    return {
        "alg none": _unsigned({"alg": "none", "typ": "JWT"}, claims),
        "alg None with kid": _unsigned({"alg": "None", "kid": keys.kid}, claims),
        "HS256 with the public key as secret": f"{hs_head}.{hs_body}.{_b64(hs_sig)}",
        "wrong key, right kid": _sign(keys, claims, key=other_key),
        "unknown kid": _sign(keys, claims, key=other_key, kid="not-a-kid"),
        "expired": _sign(keys, _claims(keys, exp=int(time.time()) - 3600)),
        "not valid yet": _sign(keys, _claims(keys, nbf=int(time.time()) + 3600)),
        "wrong issuer": _sign(keys, _claims(keys, iss="https://evil.example")),
        "no exp": _sign(keys, {k: v for k, v in claims.items() if k != "exp"}),
        "no sub": _sign(keys, {k: v for k, v in claims.items() if k != "sub"}),
        "empty sub": _sign(keys, _claims(keys, sub="")),
        "claims swapped after signing": f"{head}.{tampered_body}.{sig}",
        "signature stripped": f"{head}.{body}.",
        "garbage": "not.a.jwt",
        "huge": "a" * 20000,
    }


def _assert_refused(backend: EmbeddedBackend, token: str) -> None:
    presign = httpx.post(
        f"{backend.base_url}/api/mobile/r2-presign",
        json={"contentType": "image/png"},
        headers=bearer(token),
    )
    assert_api_error(presign, 401)
    status = httpx.get(
        f"{backend.base_url}/api/generate-images/status",
        params={"requestId": "x", "modelId": "img-nano-banana"},
        headers=bearer(token),
    )
    assert_api_error(status, 401)
    convex = httpx.post(
        f"{backend.convex_url}/api/query",
        json={"path": "users:getUserCreditsBreakdown", "args": {}, "format": "json"},
        headers=bearer(token),
    )
    assert convex.status_code == 401, convex.text
    assert "value" not in convex.json()


def test_every_jwt_attack_is_refused_everywhere(backend: EmbeddedBackend) -> None:
    keys: DevKeyPair = backend.app.state.dev_keys
    # The genuine article works, so the refusals below are about the attacks only.
    good = _sign(keys, _claims(keys))
    ok = httpx.post(
        f"{backend.base_url}/api/mobile/r2-presign",
        json={"contentType": "image/png"},
        headers=bearer(good),
    )
    assert ok.status_code == 200, ok.text
    for name, token in _attacks(keys).items():
        try:
            _assert_refused(backend, token)
        except AssertionError as exc:
            raise AssertionError(f"attack {name!r} was not refused: {exc}") from exc


def test_expired_token_says_session_expired(backend: EmbeddedBackend) -> None:
    keys: DevKeyPair = backend.app.state.dev_keys
    token = _sign(keys, _claims(keys, exp=int(time.time()) - 60))
    resp = httpx.post(
        f"{backend.base_url}/api/mobile/r2-presign",
        json={"contentType": "image/png"},
        headers=bearer(token),
    )
    assert_api_error(resp, 401, "token_expired")


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer  x", "Basic dXNlcjpwYXNz", "bearer", "Token abc", "Bearer a b c"],
)
def test_malformed_authorization_headers(backend: EmbeddedBackend, header: str) -> None:
    resp = httpx.post(
        f"{backend.base_url}/api/mobile/r2-presign",
        json={"contentType": "image/png"},
        headers={"Authorization": header} if header else {},
    )
    assert_api_error(resp, 401)


def test_authorized_party_is_enforced_with_clerk_style_jwks(
    backend_factory: BackendFactory, tmp_path: Any
) -> None:
    """A deployment verifying against a JWKS with allowed origins: a token made for
    another site (``azp``) or by another issuer is refused; the right one is accepted."""
    issuer_backend = backend_factory(tmp_path / "issuer")
    keys: DevKeyPair = issuer_backend.app.state.dev_keys
    server = backend_factory(
        tmp_path / "server",
        embedded=False,
        local_providers=True,
        clerk_jwks_url=f"{issuer_backend.base_url}/.well-known/jwks.json",
        clerk_issuer=keys.issuer,
        authorized_parties=(PARTY,),
    )
    # Embedded-only routes do not exist in a deployment.
    assert httpx.post(f"{server.base_url}/api/dev/token", json={}).status_code == 404

    def presign(token: str) -> httpx.Response:
        return httpx.post(
            f"{server.base_url}/api/mobile/r2-presign",
            json={"contentType": "image/png"},
            headers=bearer(token),
        )

    assert presign(_sign(keys, _claims(keys, azp=PARTY))).status_code == 200
    assert_api_error(presign(_sign(keys, _claims(keys, azp="https://evil.example"))), 401)
    assert_api_error(presign(_sign(keys, _claims(keys, iss="https://evil.example"))), 401)
    # A token from another installation (its own key pair) is not ours.
    stranger = backend_factory(tmp_path / "stranger")
    assert_api_error(presign(token_for(stranger.base_url, "victim")), 401)
