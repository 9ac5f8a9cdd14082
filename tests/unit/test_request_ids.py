"""Signed, opaque request ids."""

from __future__ import annotations

import base64
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


def test_opaque_to_clients() -> None:
    token = signer.encode("fal", "req-123", "user_1", "flux-schnell")
    assert all(c.isalnum() or c in "-_." for c in token)
    assert "req-123" not in token  # encoded, not spelled out


@given(
    st.text(min_size=1, max_size=60),
    st.text(min_size=1, max_size=200),
    st.text(min_size=1, max_size=60),
    st.text(min_size=1, max_size=60),
)
def test_round_trip_any_text(p: str, r: str, u: str, m: str) -> None:
    assert signer.decode(signer.encode(p, r, u, m)) == RequestIdClaims(p, r, u, m)


def test_tampered_payload_is_rejected() -> None:
    token = signer.encode("local", "job-1", "alice", "gpt-image-1")
    payload, mac = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["u"] = "mallory"
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    invalid(f"{forged}.{mac}")


def test_tampered_mac_is_rejected() -> None:
    payload, mac = signer.encode("local", "job-1", "alice", "m").split(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    invalid(f"{payload}.{flipped}")
    invalid(f"{payload}.")
    invalid(payload)


def test_other_secret_is_rejected() -> None:
    token = signer.encode("local", "job-1", "alice", "m")
    invalid(token, RequestIdSigner(b"z" * 32))


@pytest.mark.parametrize(
    "token", ["", ".", "..", "abc", "a.b.c", "!!!.###", "é.é", "x" * 5000, "e30.AAAA"]
)
def test_garbage_is_rejected(token: str) -> None:
    invalid(token)


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        RequestIdSigner(b"short")
