"""The local object store: files under the data dir, served by the backend at ``/files/<key>``.

Uploads use presigned ``PUT`` URLs like R2's: the query carries the content type, the size
cap and the expiry, bound to the key by an HMAC, so the server needs no upload state.

Display-size variants (:mod:`catalog.image_variants`): an upload gets them as soon as it is
written, and ``GET`` of a variant an older original lacks makes it from the original beside
it on first request (R2 cannot: there the client falls back to the original).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from backend.capped_body import read_capped
from backend.errors import ApiError
from backend.private_files import private_dir
from backend.store.base import (
    ALLOWED_CONTENT_TYPES,
    PresignedUpload,
    is_valid_key,
    sniff_image_type,
)

if TYPE_CHECKING:
    from backend.variant_writer import VariantWriter

CACHE_CONTROL = "public, max-age=31536000, immutable"
_EXT_TYPES = {ext: ct for ct, ext in ALLOWED_CONTENT_TYPES.items()} | {"jpeg": "image/jpeg"}


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "This file does not exist.")


def _invalid_signature() -> ApiError:
    return ApiError(403, "invalid_signature", "This upload link is not valid.")


def _check_type(content_type: str) -> None:
    if content_type not in ALLOWED_CONTENT_TYPES:
        allowed = ", ".join(sorted(ALLOWED_CONTENT_TYPES))
        raise ApiError(
            415, "unsupported_type", f"Images must be one of: {allowed} (got {content_type})."
        )


class LocalObjectStore:
    """Implements :class:`backend.store.base.ObjectStore` on the local file system."""

    enforces_max_size = True

    makes_missing_variants = True

    def __init__(self, root: Path, base_url: str, secret: bytes) -> None:
        self.root = Path(root)
        private_dir(self.root)
        # Resolved once (each resolve() is an lstat per path component; every stored
        # image, variant and file request checks its path against it).
        self._real_root = self.root.resolve()
        # Reassignable: the embedded server learns its port only once it is listening.
        self.base_url = base_url
        # A key derived for this purpose only, so a signature here means nothing elsewhere.
        self._key = hmac.new(secret, b"imagegen/local-store/v1", hashlib.sha256).digest()

    @property
    def base_url(self) -> str:
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._base_url = value.rstrip("/")

    # -- ObjectStore ------------------------------------------------------------------
    def presign_put(
        self,
        key: str,
        content_type: str,
        max_size: int,
        expires_in: int,
        content_length: int | None = None,
    ) -> PresignedUpload:
        if not is_valid_key(key):
            raise ValueError(f"Refusing to presign an invalid key: {key!r}")
        _check_type(content_type)
        if content_length is not None:
            # The declared size is the cap this link grants: no more than was asked for.
            max_size = min(int(max_size), int(content_length))
        expires = int(time.time()) + int(expires_in)
        query = urlencode(
            {
                "exp": expires,
                "ct": content_type,
                "max": int(max_size),
                "sig": self._sign(key, content_type, int(max_size), expires),
            }
        )
        return PresignedUpload(
            upload_url=f"{self.public_url(key)}?{query}",
            public_url=self.public_url(key),
            key=key,
            expires_in=int(expires_in),
        )

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        if not is_valid_key(key):
            raise ValueError(f"Refusing to store an invalid key: {key!r}")
        _check_type(content_type)
        await asyncio.to_thread(self._write, key, data)
        return self.public_url(key)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        if path is None or not path.is_file():
            raise KeyError(key)
        return await asyncio.to_thread(path.read_bytes)

    async def size(self, key: str) -> int | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        return path.stat().st_size

    def public_url(self, key: str) -> str:
        return f"{self.base_url}/files/{key}"

    def key_for_url(self, url: str) -> str | None:
        prefix = f"{self.base_url}/files/"
        if not isinstance(url, str) or not url.startswith(prefix):
            return None
        key = url[len(prefix) :]
        # The key pattern excludes '?', '#', '%' and '..', so this is the whole story.
        return key if is_valid_key(key) else None

    # -- internals --------------------------------------------------------------------
    def _sign(self, key: str, content_type: str, max_size: int, expires: int) -> str:
        msg = f"{key}|{content_type}|{max_size}|{expires}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def _path(self, key: str) -> Path | None:
        if not is_valid_key(key):
            return None
        path = (self._real_root / key).resolve()
        # Defence in depth: the regex already forbids escaping, but check the real path.
        if not path.is_relative_to(self._real_root):
            return None
        return path

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path is None:
            raise ValueError(f"Refusing to store an invalid key: {key!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)  # atomic: readers see the old file or the whole new one
        finally:
            tmp.unlink(missing_ok=True)

    def verify_upload(
        self, key: str, content_type: str, max_size: str, expires: str, sig: str
    ) -> int:
        """Check a presigned query; returns the size cap it grants."""
        try:
            max_i, exp_i = int(max_size), int(expires)
        except ValueError as exc:
            raise _invalid_signature() from exc
        expected = self._sign(key, content_type, max_i, exp_i)
        if not hmac.compare_digest(expected, sig):
            raise _invalid_signature()
        if time.time() > exp_i:
            raise ApiError(
                403, "presign_expired", "This upload link has expired; ask for a new one."
            )
        return max_i

    # -- HTTP -------------------------------------------------------------------------
    def router(self, variants: VariantWriter | None = None) -> APIRouter:
        """The ``/files`` routes; ``variants`` is the app's writer (its own when None)."""
        if variants is None:
            from backend.variant_writer import VariantWriter  # it imports this module's base

            variants = VariantWriter(self)
        router = APIRouter(tags=["files"])

        @router.put("/files/{key:path}", include_in_schema=False)
        async def upload(key: str, request: Request) -> dict[str, str]:
            q = request.query_params
            signed_ct = q.get("ct", "")
            max_size = self.verify_upload(
                key, signed_ct, q.get("max", ""), q.get("exp", ""), q.get("sig", "")
            )
            if not is_valid_key(key):
                raise _invalid_signature()
            sent_ct = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if sent_ct != signed_ct:
                raise ApiError(
                    415,
                    "unsupported_type",
                    f"The upload must be sent as {signed_ct} (got {sent_ct or 'no type'}).",
                )
            data = await read_capped(request, max_size, _too_large(max_size))
            if sniff_image_type(data) != signed_ct:
                raise ApiError(
                    415, "unsupported_type", f"The uploaded bytes are not a {signed_ct}."
                )
            await asyncio.to_thread(self._write, key, data)
            # A reference's thumbnail is ready by the time the client shows it; making it
            # never fails the upload (the writer logs and carries on).
            await variants.write(key, data)
            return {"key": key, "url": self.public_url(key)}

        @router.get("/files/{key:path}", include_in_schema=False)
        async def download(key: str) -> FileResponse:
            path = self._path(key)
            if path is None:
                raise _not_found()
            # An older original's variant, asked for the first time: made from the original
            # beside it, stored (atomically, so concurrent first requests cannot corrupt
            # it), then served. A variant of a missing original stays a 404.
            if not path.is_file() and not await variants.make_missing(key):
                raise _not_found()
            ext = key.rsplit(".", 1)[-1]
            return FileResponse(
                path,
                media_type=_EXT_TYPES.get(ext, "application/octet-stream"),
                headers={"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"},
            )

        return router


def _too_large(max_size: int) -> ApiError:
    mb = max_size / (1024 * 1024)
    return ApiError(413, "too_large", f"The file is larger than the {mb:.1f} MB this link allows.")
