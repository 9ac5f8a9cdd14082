"""Fetching generated images for display and saving, with a disk cache. Qt-free.

Image URLs point into our object store (R2 or the embedded local store) and never change
content, so a file cached by URL hash is valid forever. The GUI never does HTTP itself: its
thumbnail cache asks this fetcher (through `gui.engine.tasks.spawn`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import httpx
import platformdirs

from gui.engine.urls import local_store_url

MAX_IMAGE_BYTES = 64 * 1024 * 1024


class ImageFetchError(Exception):
    """The image could not be fetched; the message is a sentence for the user."""


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("imagegen-desktop", appauthor=False)) / "images"


class ImageFetcher:
    def __init__(
        self,
        cache_dir: Path | None = None,
        client: httpx.AsyncClient | None = None,
        max_concurrent: int = 6,
        local_base: str | None = None,
    ) -> None:
        self.cache_dir = cache_dir or default_cache_dir()
        # The embedded backend's base URL: its store URLs saved under an older port are
        # fetched from it (see gui.engine.urls). None for a deployment.
        self.local_base = local_base
        self._client = client
        self._own_client = client is None
        self._limit = asyncio.Semaphore(max_concurrent)
        self._inflight: dict[str, asyncio.Future[bytes]] = {}

    def cached_path(self, url: str) -> Path:
        digest = hashlib.sha256(url.encode()).hexdigest()
        return self.cache_dir / digest[:2] / digest

    async def fetch(self, url: str) -> bytes:
        """The image bytes for `url`, from the disk cache or the network (deduplicated)."""
        path = self.cached_path(url)
        if path.is_file():
            return await asyncio.to_thread(path.read_bytes)
        running = self._inflight.get(url)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[url] = future
        try:
            data = await self._download(local_store_url(url, self.local_base))
            await asyncio.to_thread(self._store, path, data)
            future.set_result(data)
            return data
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters (if any) re-raise it themselves
            raise
        finally:
            self._inflight.pop(url, None)

    async def save_to(self, url: str, target: Path) -> Path:
        data = await self.fetch(url)
        await asyncio.to_thread(_write_atomic, target, data)
        return target

    async def close(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    async def _download(self, url: str) -> bytes:
        if not url.startswith(("http://", "https://")):
            raise ImageFetchError(f"{url} is not a web address.")
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        async with self._limit:
            try:
                resp = await self._client.get(url, follow_redirects=True)
            except httpx.HTTPError as exc:
                raise ImageFetchError(f"The image could not be downloaded ({exc}).") from exc
        if resp.status_code != 200:
            raise ImageFetchError(
                f"The image could not be downloaded (the server answered {resp.status_code})."
            )
        if len(resp.content) > MAX_IMAGE_BYTES:
            raise ImageFetchError("The image is larger than 64 MB.")
        return resp.content

    @staticmethod
    def _store(path: Path, data: bytes) -> None:
        _write_atomic(path, data)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
