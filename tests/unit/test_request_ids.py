"""Signed, opaque request ids."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.errors import ApiError
from backend.request_ids import RequestIdClaims, RequestIdSigner

SECRET = b"k" * 32
signer = RequestIdSigner(SECRET)


def invalid(token: str, using: RequestIdSigner = signer) -> None:
    with pytest.raises(ApiError) as err:
        using.decode(token)
    assert (err.value.status, err.value.code) == (400, "invalid_request_id")
    assert err.value.message == "This request id is not valid."


def test_round_trip() -> None:
    token = signer.encode("fal", "req-123", "user_1", "flux-schnell")
    assert signer.decode(token) == RequestIdClaims("fal", "req-123", "user_1", "flux-schnell")


def _decoded(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_opaque_to_clients() -> None:
    token = signer.encode("fal", "req-123", "user_1", "flux-schnell")
    assert all(c.isalnum() or c in "-_" for c in token)
    # Not merely encoded: decoding the base64 reveals none of the claims.
    for part in ("req-123", "user_1", "flux-schnell", "fal"):
        assert part not in token
        assert part.encode() not in _decoded(token)
    # Two ids for the same job do not even look alike.
    assert signer.encode("fal", "req-123", "user_1", "flux-schnell") != token


@given(
    st.text(min_size=1, max_size=60),
    st.text(min_size=1, max_size=200),
    st.text(min_size=1, max_size=60),
    st.text(min_size=1, max_size=60),
)
def test_round_trip_any_text(p: str, r: str, u: str, m: str) -> None:
    assert signer.decode(signer.encode(p, r, u, m)) == RequestIdClaims(p, r, u, m)


def _flip(token: str, index: int) -> str:
    raw = bytearray(_decoded(token))
    raw[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize("index", [0, 11, 12, 20, -17, -1])
def test_any_flipped_bit_is_rejected(index: int) -> None:
    # Nonce, sealed claims and tag alike: a single changed bit never opens.
    invalid(_flip(signer.encode("local", "job-1", "alice", "gpt-image-1"), index))


def test_truncated_or_extended_is_rejected() -> None:
    token = signer.encode("local", "job-1", "alice", "m")
    invalid(token[:-2])
    invalid(token + "AAAA")
    invalid(token[:20])


def test_other_secret_is_rejected() -> None:
    token = signer.encode("local", "job-1", "alice", "m")
    invalid(token, RequestIdSigner(b"z" * 32))


@pytest.mark.parametrize(
    "token", ["", ".", "..", "abc", "a.b.c", "!!!.###", "é.é", "x" * 5000, "e30.AAAA", "A" * 40]
)
def test_garbage_is_rejected(token: str) -> None:
    invalid(token)


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        RequestIdSigner(b"short")


def _legacy_id(secret: bytes, body: dict[str, object]) -> str:
    """An id as the first format made it: readable payload, HMAC-SHA256 signature."""
    key = hmac.new(secret, b"imagegen/request-id/v1", hashlib.sha256).digest()
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_ids_of_the_first_format_still_decode() -> None:
    # A job queued before an upgrade is polled to its end after it.
    body = {"v": 1, "p": "fal", "r": "req-9", "u": "alice", "m": "img-reve"}
    token = _legacy_id(SECRET, body)
    assert signer.decode(token) == RequestIdClaims("fal", "req-9", "alice", "img-reve")
    invalid(_legacy_id(b"z" * 32, body))
    invalid(_legacy_id(SECRET, {**body, "v": 2}))
    mac = token.split(".")[1]
    forged = base64.urlsafe_b64encode(json.dumps({**body, "u": "mallory"}).encode())
    invalid(f"{forged.rstrip(b'=').decode()}.{mac}")
