"""The object store interface: presigned uploads, server-side puts, public URLs.

Keys are always made by the server (:func:`new_key`), never taken from user input.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

ALLOWED_CONTENT_TYPES: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
}
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class PresignedUpload:
    upload_url: str
    public_url: str
    key: str
    expires_in: int


def new_key(prefix: str, content_type: str) -> str:
    """A fresh, unguessable key such as ``uploads/2026/11/25/<hex>.png``."""
    ext = ALLOWED_CONTENT_TYPES.get(content_type, "bin")
    day = datetime.now(UTC).strftime("%Y/%m/%d")
    return f"{prefix}/{day}/{secrets.token_hex(16)}.{ext}"


class ObjectStore(Protocol):
    # True when the store's upload endpoint itself refuses bodies over ``max_size`` (the
    # local store); False when only a signed ``content_length`` can bind the size (R2).
    enforces_max_size: bool
    # True when a request for a variant that is not there yet makes it from the original
    # (the local store's /files route); an output's variants may then follow its answer.
    makes_missing_variants: bool

    def presign_put(
        self,
        key: str,
        content_type: str,
        max_size: int,
        expires_in: int,
        content_length: int | None = None,
    ) -> PresignedUpload:
        """A PUT URL bound to key, type, expiry and size: at most ``max_size`` bytes, and
        exactly ``content_length`` when the client declared it."""
        ...

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        """Store bytes; returns the public URL."""
        ...

    async def get(self, key: str) -> bytes:
        """Read bytes back; raises KeyError when absent."""
        ...

    async def size(self, key: str) -> int | None:
        """The stored object's size in bytes, or None when absent."""
        ...

    def public_url(self, key: str) -> str: ...

    def key_for_url(self, url: str) -> str | None:
        """The key if ``url`` points into this store, else None."""
        ...


# Keys look like ``uploads/2026/11/25/<hex>.png``: plain segments, one extension at the
# end. No dots elsewhere, so ``..``, hidden files and encoded tricks can never match.
_KEY_RE = re.compile(
    r"^[a-z0-9][a-z0-9_-]{0,63}(?:/[A-Za-z0-9][A-Za-z0-9_-]{0,127}){1,7}\.[a-z0-9]{1,5}$"
)
MAX_KEY_LENGTH = 300


def is_valid_key(key: str) -> bool:
    """True for keys of the shape :func:`new_key` makes (and nothing path-like beyond it)."""
    return isinstance(key, str) and len(key) <= MAX_KEY_LENGTH and bool(_KEY_RE.match(key))


def sniff_image_type(data: bytes) -> str | None:
    """The image content type the bytes really are (by magic number), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
