"""Copy provider outputs into our object store, so clients only ever see our URLs.

A provider answers with bytes (local provider, Azure's base64) or with a URL at the
provider (Fal, Wavespeed), sometimes a ``data:`` URL. Bytes are stored as they are; URLs
already in our store are kept; anything else is downloaded once (size cap, timeout, real
image bytes checked by magic number) and stored under a fresh server-made key.

Beside every original, the display-size variants of :mod:`catalog.image_variants` are
written too (made while the original is being stored), and each image comes back with its
size and type, so a client lays out and fills a grid without fetching any original.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Iterable

import httpx

from backend.providers.base import ProviderImage
from backend.store.base import ALLOWED_CONTENT_TYPES, ObjectStore, new_key, sniff_image_type
from backend.stored_image import StoredImage
from backend.variant_writer import VariantWriter

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
        variants: VariantWriter | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.max_bytes = max_bytes
        self.variants = variants or VariantWriter(store)

    async def rehost_all(self, images: Iterable[ProviderImage]) -> list[StoredImage]:
        """The images in our store, one per output, in order. They are copied side by side
        (downloads overlap, variants use every core); the first failure in order is raised
        once all have ended, so nothing is left running behind the answer."""
        results = await asyncio.gather(
            *(self.rehost(image) for image in images), return_exceptions=True
        )
        stored: list[StoredImage] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            stored.append(result)
        return stored

    async def rehost(self, image: ProviderImage) -> StoredImage:
        if image.data is not None:
            return await self._store_bytes(image.data)
        url = image.url
        if not url:
            raise RehostError("The provider returned an image without any data.")
        key = self.store.key_for_url(url)
        if key is not None:
            # Already ours (a reference echoed back, an older record): keep the URL, and
            # give it the variants it may lack.
            size = await self.variants.ensure(key)
            return _stored(url, size, _type_of_key(key))
        if url.startswith("data:"):
            return await self._store_bytes(_decode_data_url(url))
        if not url.startswith(("https://", "http://")):
            raise RehostError("The provider returned an image at an address we cannot fetch.")
        return await self._store_bytes(await self._download(url))

    async def _store_bytes(self, data: bytes) -> StoredImage:
        if len(data) > self.max_bytes:
            raise RehostError("The provider returned an image that is too large to keep.")
        # Trust the bytes, not the provider's label: the type decides the key's extension
        # and the Content-Type our store serves it with.
        content_type = sniff_image_type(data)
        if content_type not in ALLOWED_CONTENT_TYPES:
            raise RehostError("The provider returned something that is not an image.")
        key = new_key(OUTPUT_PREFIX, content_type)
        # Where the store makes a variant asked for before it exists, the answer needs only
        # the size (the header) and the variants follow it: under load the answer had
        # waited seconds for WebP encodes queued behind other renders. R2 cannot, so there
        # the variants are written before the URL goes out.
        variants = (
            self.variants.write_after if self.store.makes_missing_variants else self.variants.write
        )
        # The upload and the CPU work overlap; a variant that fails is logged, never raised.
        url, size = await asyncio.gather(
            self.store.put(key, data, content_type), variants(key, data)
        )
        return _stored(url, size, content_type)

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


def _type_of_key(key: str) -> str | None:
    ext = key.rsplit(".", 1)[-1]
    return {v: k for k, v in ALLOWED_CONTENT_TYPES.items()}.get("jpg" if ext == "jpeg" else ext)


def _stored(url: str, size: tuple[int, int] | None, content_type: str | None) -> StoredImage:
    width, height = size if size is not None else (None, None)
    return StoredImage(url=url, width=width, height=height, content_type=content_type)
