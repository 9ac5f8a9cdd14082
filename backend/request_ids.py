"""Opaque, signed request ids: the status route learns provider, job, owner and model
from the id itself, so it needs no shared state and a tampered id is simply rejected."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from backend.errors import ApiError

_VERSION = 1
_MAX_TOKEN_LENGTH = 4096


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
    """``<payload>.<mac>``, both base64url; payload is compact JSON with short field names."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("The request id secret must be at least 16 bytes.")
        # Derived key: the same installation secret also signs uploads, for other purposes.
        self._key = hmac.new(secret, b"imagegen/request-id/v1", hashlib.sha256).digest()

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest()

    def encode(self, provider: str, provider_request_id: str, user_id: str, model_id: str) -> str:
        body = {
            "v": _VERSION,
            "p": provider,
            "r": provider_request_id,
            "u": user_id,
            "m": model_id,
        }
        payload = _b64e(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{payload}.{_b64e(self._mac(payload))}"

    def decode(self, token: str) -> RequestIdClaims:
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
            raise _invalid()
        payload, sep, mac = token.partition(".")
        if not sep or not payload.isascii() or not mac.isascii():
            raise _invalid()
        try:
            given = _b64d(mac)
        except (binascii.Error, ValueError) as exc:
            raise _invalid() from exc
        if not hmac.compare_digest(given, self._mac(payload)):
            raise _invalid()
        try:
            body = json.loads(_b64d(payload))
        except (binascii.Error, ValueError) as exc:
            raise _invalid() from exc
        if not isinstance(body, dict) or body.get("v") != _VERSION:
            raise _invalid()
        fields = [body.get(k) for k in ("p", "r", "u", "m")]
        if not all(isinstance(f, str) and f for f in fields):
            raise _invalid()
        return RequestIdClaims(*fields)  # type: ignore[arg-type]
