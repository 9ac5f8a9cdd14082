"""Reference images Fal can fetch: our store's URL when it is public, else a Fal storage copy.

Fal downloads every ``image_url``/``image_urls`` itself. With R2 and a public base URL our
store's URLs are reachable; the local store's are loopback (``http://127.0.0.1:…/files/…``),
which Fal cannot fetch, so every Fal edit model would fail. In that mode each reference is
read (from the store, or over HTTP from our own server) and uploaded once to Fal's own
storage with fal-client's ``AsyncClient.upload``; the payload then carries the Fal URL.

``mode``: ``True`` uploads every reference (no public store), ``False`` sends our URLs as
they are (public store), ``None`` ("auto") uploads only URLs Fal certainly cannot reach
(loopback, private or single-label hosts). Uploads are cached per source URL (store keys
are immutable) and shared by concurrent calls, so a fanned-out request uploads once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from backend.config import BackendConfig
from backend.providers.base import ProviderError
from backend.store.base import ObjectStore, sniff_image_type

log = logging.getLogger(__name__)

MAX_REFERENCE_BYTES = 25 * 1024 * 1024
CACHE_TTL_S = 3600.0
CACHE_SIZE = 256
DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
REFERENCE_UNREADABLE = "We could not read an attached image. Please attach it again."
UPLOAD_FAILED = "We could not send an attached image to the provider. Please try again."
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def log_reference_mode(config: BackendConfig) -> str:
    """Say (once, at server start) how Fal will get reference images; returns the mode."""
    mode = config.fal_references
    if mode == "public-store":
        log.info("Fal reference images: sent as public store URLs (%s)", config.r2_public_base_url)
    else:
        log.info(
            "Fal reference images: uploaded to Fal storage first (no public object store; "
            "set R2_* and R2_PUBLIC_BASE_URL to send store URLs instead)"
        )
    return mode


def fal_can_fetch(url: str) -> bool:
    """False when ``url`` is certainly out of Fal's reach (loopback, private, no real host)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host != "localhost" and "." in host and not host.endswith(_PRIVATE_SUFFIXES)
    return ip.is_global


class ReferenceUploader:
    """Turns our attachment URLs into URLs Fal can fetch (see the module docstring)."""

    def __init__(
        self,
        mode: bool | None = None,
        *,
        store: ObjectStore | None = None,
        max_bytes: int = MAX_REFERENCE_BYTES,
    ) -> None:
        self.mode = mode
        self._store = store
        self._max_bytes = max_bytes
        self._done: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[str]] = {}

    def needs_upload(self, url: str) -> bool:
        if url.startswith("data:"):
            return False
        if self.mode is None:
            return not fal_can_fetch(url)
        return self.mode

    async def resolve(
        self, fal: Any, http: httpx.AsyncClient, urls: Sequence[str]
    ) -> tuple[str, ...]:
        """``urls`` with every reference Fal could not fetch replaced by a Fal storage URL."""
        if not any(self.needs_upload(url) for url in urls):
            return tuple(urls)
        resolved = await asyncio.gather(*(self._one(fal, http, url) for url in urls))
        return tuple(resolved)

    async def _one(self, fal: Any, http: httpx.AsyncClient, url: str) -> str:
        if not self.needs_upload(url):
            return url
        cached = self._done.get(url)
        if cached is not None and time.monotonic() - cached[0] < CACHE_TTL_S:
            return cached[1]
        task = self._inflight.get(url)
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.ensure_future(self._upload(fal, http, url))
            self._inflight[url] = task
            task.add_done_callback(lambda t, u=url: self._finished(u, t))
        # Shielded: one caller going away must not abort an upload others wait for.
        return await asyncio.shield(task)

    def _finished(self, url: str, task: asyncio.Task[str]) -> None:
        if self._inflight.get(url) is task:
            del self._inflight[url]
        if task.cancelled() or task.exception() is not None:
            return
        self._done[url] = (time.monotonic(), task.result())
        self._done.move_to_end(url)
        while len(self._done) > CACHE_SIZE:
            self._done.popitem(last=False)

    async def _upload(self, fal: Any, http: httpx.AsyncClient, url: str) -> str:
        data, content_type, name = await self._read(http, url)
        try:
            fal_url = await fal.upload(data, content_type, file_name=name)
        except Exception as exc:
            log.warning("fal: uploading a reference image failed (%s)", type(exc).__name__)
            raise ProviderError(UPLOAD_FAILED, code="reference_upload_failed") from None
        if not isinstance(fal_url, str) or not fal_url:
            raise ProviderError(UPLOAD_FAILED, code="reference_upload_failed")
        log.info("fal: reference image uploaded to Fal storage (%d bytes)", len(data))
        return fal_url

    async def _read(self, http: httpx.AsyncClient, url: str) -> tuple[bytes, str, str]:
        """The reference's bytes, content type and file name: from the store, else HTTP."""
        name = urlsplit(url).path.rsplit("/", 1)[-1] or "reference"
        key = self._store.key_for_url(url) if self._store is not None else None
        if key is not None and self._store is not None:
            try:
                data = await self._store.get(key)
            except KeyError:
                raise _unreadable() from None
        else:
            data = await self._download(http, url)
        if len(data) > self._max_bytes:
            raise _too_large()
        content_type = sniff_image_type(data)
        if content_type is None:
            raise _unreadable()
        return data, content_type, name

    async def _download(self, http: httpx.AsyncClient, url: str) -> bytes:
        try:
            async with http.stream("GET", url, timeout=DOWNLOAD_TIMEOUT) as response:
                if response.status_code != 200:
                    raise _unreadable()
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise _too_large()
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            log.warning("fal: reading a reference image failed (%s)", type(exc).__name__)
            raise _unreadable() from None
        return b"".join(chunks)


def _too_large() -> ProviderError:
    return ProviderError(
        "An attached image is too large to send to the provider.",
        code="attachment_too_large",
        status=413,
    )


def _unreadable() -> ProviderError:
    return ProviderError(REFERENCE_UNREADABLE, code="attachment_unreadable", status=400)
