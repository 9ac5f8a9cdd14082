"""Copy provider outputs into our object store, so clients only ever see our URLs.

A provider answers with bytes (local provider, Azure's base64) or with a URL at the
provider (Fal, Wavespeed), sometimes a ``data:`` URL. Bytes are stored as they are; URLs
already in our store are kept; anything else is downloaded once (size cap, timeout, real
image bytes checked by magic number) and stored under a fresh server-made key.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable

import httpx

from backend.providers.base import ProviderImage
from backend.store.base import ALLOWED_CONTENT_TYPES, ObjectStore, new_key, sniff_image_type

log = logging.getLogger(__name__)

OUTPUT_PREFIX = "generations"
MAX_OUTPUT_BYTES = 64 * 1024 * 1024  # a 4K PNG is ~25 MB; anything far past that is wrong
DOWNLOAD_TIMEOUT_S = 60.0


class RehostError(Exception):
    """An output could not be copied; ``message`` is a sentence for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _decode_data_url(url: str) -> bytes:
    header, _, payload = url.partition(",")
    if ";base64" not in header:
        raise RehostError("The provider returned an image in an unreadable form.")
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise RehostError("The provider returned an image in an unreadable form.") from exc


class Rehoster:
    """Stores :class:`ProviderImage` outputs; one shared ``httpx.AsyncClient`` for downloads."""

    def __init__(
        self,
        store: ObjectStore,
        client: httpx.AsyncClient,
        *,
        max_bytes: int = MAX_OUTPUT_BYTES,
    ) -> None:
        self.store = store
        self.client = client
        self.max_bytes = max_bytes

    async def rehost_all(self, images: Iterable[ProviderImage]) -> list[str]:
        """Public URLs in our store, one per image, in order."""
        return [await self.rehost(image) for image in images]

    async def rehost(self, image: ProviderImage) -> str:
        if image.data is not None:
            return await self._store_bytes(image.data)
        url = image.url
        if not url:
            raise RehostError("The provider returned an image without any data.")
        if self.store.key_for_url(url) is not None:
            return url
        if url.startswith("data:"):
            return await self._store_bytes(_decode_data_url(url))
        if not url.startswith(("https://", "http://")):
            raise RehostError("The provider returned an image at an address we cannot fetch.")
        return await self._store_bytes(await self._download(url))

    async def _store_bytes(self, data: bytes) -> str:
        if len(data) > self.max_bytes:
            raise RehostError("The provider returned an image that is too large to keep.")
        # Trust the bytes, not the provider's label: the type decides the key's extension
        # and the Content-Type our store serves it with.
        content_type = sniff_image_type(data)
        if content_type not in ALLOWED_CONTENT_TYPES:
            raise RehostError("The provider returned something that is not an image.")
        return await self.store.put(new_key(OUTPUT_PREFIX, content_type), data, content_type)

    async def _download(self, url: str) -> bytes:
        try:
            async with self.client.stream(
                "GET", url, timeout=DOWNLOAD_TIMEOUT_S, follow_redirects=True
            ) as resp:
                if resp.status_code != 200:
                    raise RehostError(
                        f"The generated image could not be downloaded "
                        f"(the provider answered {resp.status_code})."
                    )
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise RehostError("The provider returned an image that is too large to keep.")
                chunks: list[bytes] = []
                total = 0
                async for chunk in resp.aiter_bytes():
                    total += len(chunk)
                    if total > self.max_bytes:
                        raise RehostError(
                            "The provider returned an image that is too large to keep."
                        )
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            log.warning("download of a provider output failed: %s", type(exc).__name__)
            raise RehostError(
                "The generated image could not be downloaded from the provider."
            ) from exc
        return b"".join(chunks)
