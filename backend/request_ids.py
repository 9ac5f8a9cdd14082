"""Opaque, signed request ids: the status route learns provider, job, owner and model
from the id itself, so it needs no shared state and a tampered id is simply rejected.

The claims are sealed with AES-GCM (authenticated encryption): the tag signs them, and the
encryption keeps them opaque, so a client learns neither the provider's own job id nor whose
or which model's job it is from the id (a base64 payload would spell all of that out).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend.errors import ApiError

_VERSION = 2
_MAX_TOKEN_LENGTH = 4096
_NONCE_BYTES = 12
_TAG_BYTES = 16
# Bound into every tag: an id sealed for another purpose (or format version) never opens.
_ASSOCIATED_DATA = b"imagegen/request-id/v2"


@dataclass(frozen=True)
class RequestIdClaims:
    provider: str
    provider_request_id: str
    user_id: str
    model_id: str


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _invalid() -> ApiError:
    return ApiError(400, "invalid_request_id", "This request id is not valid.")


class RequestIdSigner:
    """``base64url(nonce || AES-GCM(compact JSON claims) || tag)``: one opaque token."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("The request id secret must be at least 16 bytes.")
        # Derived key: the same installation secret also signs uploads, for other purposes.
        key = hmac.new(secret, b"imagegen/request-id/v2", hashlib.sha256).digest()
        self._aead = AESGCM(key)
        # Ids of the first format (signed, readable ``<payload>.<mac>``) are still honoured,
        # so a job queued before an upgrade can be polled to its end after it.
        self._legacy_key = hmac.new(secret, b"imagegen/request-id/v1", hashlib.sha256).digest()

    def encode(self, provider: str, provider_request_id: str, user_id: str, model_id: str) -> str:
        body = {
            "v": _VERSION,
            "p": provider,
            "r": provider_request_id,
            "u": user_id,
            "m": model_id,
        }
        plain = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        nonce = os.urandom(_NONCE_BYTES)
        return _b64e(nonce + self._aead.encrypt(nonce, plain, _ASSOCIATED_DATA))

    def decode(self, token: str) -> RequestIdClaims:
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
            raise _invalid()
        if not token.isascii():
            raise _invalid()
        if "." in token:
            return self._decode_legacy(token)
        try:
            raw = _b64d(token)
        except (binascii.Error, ValueError) as exc:
            raise _invalid() from exc
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise _invalid()
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _ASSOCIATED_DATA)
            body = json.loads(plain)
        except (InvalidTag, ValueError) as exc:
            raise _invalid() from exc
        return _claims(body, _VERSION)

    def _decode_legacy(self, token: str) -> RequestIdClaims:
        payload, _, mac = token.partition(".")
        try:
            given = _b64d(mac)
        except (binascii.Error, ValueError) as exc:
            raise _invalid() from exc
        expected = hmac.new(self._legacy_key, payload.encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(given, expected):
            raise _invalid()
        try:
            body = json.loads(_b64d(payload))
        except (binascii.Error, ValueError) as exc:
            raise _invalid() from exc
        return _claims(body, 1)


def _claims(body: object, version: int) -> RequestIdClaims:
    if not isinstance(body, dict) or body.get("v") != version:
        raise _invalid()
    fields = [body.get(k) for k in ("p", "r", "u", "m")]
    if not all(isinstance(f, str) and f for f in fields):
        raise _invalid()
    return RequestIdClaims(*fields)  # type: ignore[arg-type]
