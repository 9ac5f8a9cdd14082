"""JWT verification: embedded key pair, dev tokens and every way a token can be wrong."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from starlette.requests import Request

from backend.auth.deps import bearer_token, require_identity
from backend.auth.dev_keys import EMBEDDED_ISSUER, KEY_FILE, DevKeyPair
from backend.auth.verifier import JwtVerifier
from backend.errors import ApiError
from backend.secrets import load_or_create_secret


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> DevKeyPair:
    return DevKeyPair.load_or_create(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def other_keys() -> DevKeyPair:
    return DevKeyPair.generate()


@pytest.fixture
def verifier(keys: DevKeyPair) -> JwtVerifier:
    return JwtVerifier.from_dev_keys(keys)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rejected(verifier: JwtVerifier, token: str, code: str = "unauthorized") -> ApiError:
    with pytest.raises(ApiError) as err:
        verifier.verify(token)
    assert err.value.status == 401
    assert err.value.code == code
    assert err.value.message.startswith("Sign in again")
    return err.value


def test_valid_token(keys: DevKeyPair, verifier: JwtVerifier) -> None:
    ident = verifier.verify(keys.issue_token("user_123"))
    assert ident.user_id == "user_123"
    assert ident.claims["iss"] == EMBEDDED_ISSUER
    assert ident.claims["exp"] - ident.claims["iat"] == 60


def test_key_pair_is_persistent_and_private(tmp_path: Path) -> None:
    first = DevKeyPair.load_or_create(tmp_path)
    second = DevKeyPair.load_or_create(tmp_path)
    assert first.kid == second.kid
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    # A token from before a restart still verifies after it.
    assert JwtVerifier.from_dev_keys(second).verify(first.issue_token("u")).user_id == "u"


def test_jwks_has_only_public_material(keys: DevKeyPair) -> None:
    (jwk,) = keys.jwks()["keys"]
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and jwk["kid"] == keys.kid
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)
    public = jwt.PyJWK(jwk).key
    claims = jwt.decode(keys.issue_token("u"), public, algorithms=["RS256"])
    assert claims["sub"] == "u"


def test_expired_token(keys: DevKeyPair, verifier: JwtVerifier) -> None:
    token = keys.issue_token("u", ttl_s=60, now=time.time() - 120)
    err = rejected(verifier, token, code="token_expired")
    assert "expired" in err.message


def test_small_clock_skew_is_tolerated(keys: DevKeyPair, verifier: JwtVerifier) -> None:
    # Expired 2 s ago, within the 5 s leeway; and issued 2 s "in the future".
    assert verifier.verify(keys.issue_token("u", ttl_s=60, now=time.time() - 62)).user_id
    assert verifier.verify(keys.issue_token("u", ttl_s=60, now=time.time() + 2)).user_id


def test_not_yet_valid_token(keys: DevKeyPair, verifier: JwtVerifier) -> None:
    rejected(verifier, keys.issue_token("u", ttl_s=600, now=time.time() + 120))


def test_wrong_key(other_keys: DevKeyPair, verifier: JwtVerifier) -> None:
    rejected(verifier, other_keys.issue_token("u"))


def test_wrong_key_with_our_kid(keys: DevKeyPair, other_keys: DevKeyPair) -> None:
    forged = DevKeyPair(other_keys.private_key, keys.kid)
    rejected(JwtVerifier.from_dev_keys(keys), forged.issue_token("u"))


def test_alg_none(keys: DevKeyPair, verifier: JwtVerifier) -> None:
    now = int(time.time())
    claims = {"sub": "admin", "iss": EMBEDDED_ISSUER, "iat": now, "exp": now + 60}
    header = {"alg": "none", "typ": "JWT", "kid": keys.kid}
    for sig in ("", "AAAA"):
        token = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{sig}"
        rejected(verifier, token)


def test_hs256_with_the_public_key_as_secret(keys: DevKeyPair, verifier: JwtVerifier) -> None:
    pem = keys.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": keys.kid}).encode())
    payload = b64(json.dumps({"sub": "u", "iss": EMBEDDED_ISSUER, "exp": now + 60}).encode())
    sig = b64(hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    rejected(verifier, f"{header}.{payload}.{sig}")


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "not.a.jwt.at.all", "....", "Bearer x"])
def test_garbled_tokens(verifier: JwtVerifier, token: str) -> None:
    rejected(verifier, token)


def test_tampered_payload(keys: DevKeyPair, verifier: JwtVerifier) -> None:
    header, payload, sig = keys.issue_token("alice").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "mallory"
    rejected(verifier, f"{header}.{b64(json.dumps(claims).encode())}.{sig}")


def test_wrong_issuer(keys: DevKeyPair, verifier: JwtVerifier) -> None:
    err = rejected(verifier, keys.issue_token("u", issuer="https://evil.example"))
    assert "issued by someone else" in err.message


def test_missing_subject(keys: DevKeyPair, verifier: JwtVerifier) -> None:
    now = int(time.time())
    token = jwt.encode(
        {"iss": EMBEDDED_ISSUER, "iat": now, "exp": now + 60},
        keys.private_key,
        algorithm="RS256",
        headers={"kid": keys.kid},
    )
    rejected(verifier, token)


def test_authorized_parties(keys: DevKeyPair) -> None:
    verifier = JwtVerifier.from_dev_keys(keys, authorized_parties=("https://app.example",))
    assert verifier.verify(keys.issue_token("u", azp="https://app.example")).user_id == "u"
    # Clerk semantics: tokens without azp (e.g. from a native app) are accepted.
    assert verifier.verify(keys.issue_token("u")).user_id == "u"
    err = rejected(verifier, keys.issue_token("u", azp="https://evil.example"))
    assert "another site" in err.message


def make_request(headers: dict[str, str], verifier: JwtVerifier | None) -> Request:
    class State:
        pass

    class App:
        state = State()

    if verifier is not None:
        App.state.verifier = verifier  # type: ignore[attr-defined]
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "app": App(),
    }
    return Request(scope)


async def test_require_identity(keys: DevKeyPair, verifier: JwtVerifier) -> None:
    token = keys.issue_token("bob")
    req = make_request({"Authorization": f"Bearer {token}"}, verifier)
    assert (await require_identity(req)).user_id == "bob"
    req = make_request({"Authorization": f"bearer {token}"}, verifier)
    assert bearer_token(req) == token


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dTpw"},
        {"Authorization": "Bearer a b"},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Bearer " + "a" * 16_385},
    ],
)
async def test_require_identity_rejects_bad_headers(verifier: JwtVerifier, headers: dict) -> None:
    with pytest.raises(ApiError) as err:
        await require_identity(make_request(headers, verifier))
    assert (err.value.status, err.value.code) == (401, "unauthorized")


async def test_require_identity_without_verifier_is_503(keys: DevKeyPair) -> None:
    req = make_request({"Authorization": f"Bearer {keys.issue_token('u')}"}, None)
    with pytest.raises(ApiError) as err:
        await require_identity(req)
    assert err.value.status == 503


def test_a_verified_token_is_remembered_only_as_that_exact_string(
    keys: DevKeyPair, verifier: JwtVerifier
) -> None:
    token = keys.issue_token("carol")
    assert verifier.cached(token) is None
    assert verifier.verify(token).user_id == "carol"
    assert verifier.cached(token) is not None and verifier.cached(token).user_id == "carol"
    # The same claims with another signature, or a changed payload, are not the cached
    # token: each is verified afresh, and refused.
    head, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for forged in (f"{head}.{payload}.{flipped}", f"{head}.{payload[:-1]}x.{signature}"):
        assert verifier.cached(forged) is None
        rejected(verifier, forged)
    # Another token of the same user is another string: unknown until verified itself.
    assert verifier.cached(keys.issue_token("carol", ttl_s=120)) is None


def test_a_remembered_token_expires_with_its_exp(keys: DevKeyPair) -> None:
    verifier = JwtVerifier.from_dev_keys(keys)
    verifier.leeway_s = 0.0
    token = keys.issue_token("dave", ttl_s=1)
    assert verifier.verify(token).user_id == "dave"
    assert verifier.cached(token) is not None
    exp = float(jwt.decode(token, options={"verify_signature": False})["exp"])
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    assert verifier.cached(token) is None
    assert rejected(verifier, token, "token_expired").status == 401


def finished_without_waiting(coro: Any) -> Any:
    """The value of a coroutine that never suspends (no worker thread, no I/O awaited)."""
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    return done.value.value


def test_a_token_of_a_known_key_is_verified_on_the_spot(
    keys: DevKeyPair, verifier: JwtVerifier
) -> None:
    token = keys.issue_token("gina")
    assert finished_without_waiting(verifier.verify_once(token)).user_id == "gina"
    assert verifier.cached(token) is not None
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload[:-1]}x.{signature}"
    with pytest.raises(ApiError) as err:
        finished_without_waiting(verifier.verify_once(forged))
    assert err.value.status == 401 and verifier.cached(forged) is None


async def test_a_token_brought_by_calls_at_once_is_verified_once(keys: DevKeyPair) -> None:
    resolved: list[str] = []
    public = keys.private_key.public_key()

    def resolve(token: str, _header: dict) -> object:
        resolved.append(token)
        return public

    verifier = JwtVerifier(resolve, issuer=keys.issuer)
    token = keys.issue_token("erin")
    identities = await asyncio.gather(*(verifier.verify_once(token) for _ in range(5)))
    assert [i.user_id for i in identities] == ["erin"] * 5
    assert resolved == [token]
    assert (await verifier.verify_once(token)).user_id == "erin" and resolved == [token]
    # A forged token brought three times at once: refused three times, checked once, and
    # never remembered.
    head, payload, signature = keys.issue_token("erin", ttl_s=90).split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    forged = f"{head}.{payload}.{flipped}"
    refused = await asyncio.gather(
        *(verifier.verify_once(forged) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, ApiError) and r.status == 401 for r in refused), refused
    assert resolved == [token, forged] and verifier.cached(forged) is None
    # A caller that hangs up does not cancel the verification the others wait for.
    fresh = keys.issue_token("frank")
    leaving = asyncio.create_task(verifier.verify_once(fresh))
    staying = asyncio.create_task(verifier.verify_once(fresh))
    await asyncio.sleep(0)
    leaving.cancel()
    assert (await staying).user_id == "frank"
    assert leaving.cancelled() and resolved.count(fresh) == 1


def test_signing_secret_is_stable_and_private(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path)
    assert len(first) == 32
    assert load_or_create_secret(tmp_path) == first
    assert load_or_create_secret(tmp_path, "other.key") != first
    assert (tmp_path / "signing.key").stat().st_mode & 0o777 == 0o600
