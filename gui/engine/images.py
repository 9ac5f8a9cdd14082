"""Fetching generated images for display and saving, with a bounded disk cache. Qt-free.

Image URLs point into our object store (R2 or the embedded local store) and never change
content, so a file cached by URL hash is valid until the budget evicts it. The GUI never
does HTTP itself: its thumbnail cache asks this fetcher (through `gui.engine.tasks.spawn`).

What is fetched follows what is shown (issue 20): ``fetch_display(url, edge)`` asks for the
smallest display-size variant that covers ``edge`` device pixels (catalog.image_variants)
when the backend makes variants, and the original otherwise; ``fetch`` and ``save_to``
always get the original (zoom, save, copy). Variants and originals have separate disk
budgets, so scrolling a large session never pushes out the originals someone opened, and a
few opened 4K originals never push out a screen's worth of thumbnails.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import platformdirs

from catalog import image_variants
from gui.engine.image_cache_disk import DiskCache
from gui.engine.urls import local_store_url

if TYPE_CHECKING:
    from gui.engine.capabilities import BackendFeatures

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 64 * 1024 * 1024
VARIANTS_BUDGET = 512 * 1024 * 1024
ORIGINALS_BUDGET = 2 * 1024 * 1024 * 1024
# Old records whose variants answered 404, remembered so each costs one failed request; a
# bound keeps a long-running app's memory flat (an entry forgotten costs one more 404).
NO_VARIANTS_REMEMBERED = 50_000
# An unknown verdict (backend unreachable) is asked again at most this often.
FEATURES_RETRY_S = 30.0
FEATURES_WAIT_S = 10.0
_CHUNK = 256 * 1024


class ImageFetchError(Exception):
    """The image could not be fetched; the message is a sentence for the user."""


class ImageNotFound(ImageFetchError):
    """The server answered 404 (for a variant: an old record that has none)."""


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("imagegen-desktop", appauthor=False)) / "images"


def _too_large() -> ImageFetchError:
    return ImageFetchError(
        f"The image is larger than {MAX_IMAGE_BYTES // 2**20} MB, the most the app downloads."
    )


class ImageFetcher:
    def __init__(
        self,
        cache_dir: Path | None = None,
        client: httpx.AsyncClient | None = None,
        max_concurrent: int = 6,
        local_base: str | None = None,
        *,
        variants_budget: int = VARIANTS_BUDGET,
        originals_budget: int = ORIGINALS_BUDGET,
        features: BackendFeatures | None = None,
    ) -> None:
        self.cache_dir = cache_dir or default_cache_dir()
        # Originals keep the layout older versions wrote (so their files are counted and
        # evicted); variants live in a subfolder the originals' scan does not enter.
        self.originals = DiskCache(self.cache_dir, originals_budget)
        self.variants = DiskCache(self.cache_dir / "variants", variants_budget)
        # The embedded backend's base URL: its store URLs saved under an older port are
        # fetched from it (see gui.engine.urls). None for a deployment.
        self.local_base = local_base
        self._client = client
        self._own_client = client is None
        self._limit = asyncio.Semaphore(max_concurrent)
        self._inflight: dict[str, asyncio.Future[Path]] = {}
        self._no_variants: OrderedDict[str, None] = OrderedDict()
        # use_variants: set by whoever knows (a benchmark, a test) or learned from the
        # engine's BackendFeatures verdict the first time a display image is fetched.
        self._features = features
        self._use_variants: bool | None = None
        self._learning: asyncio.Task[bool] | None = None
        self._asked_at = -FEATURES_RETRY_S

    # -- what to ask for ----------------------------------------------------------------------
    @property
    def use_variants(self) -> bool:
        """Whether display images are fetched as variants (the backend makes them)."""
        return bool(self._use_variants)

    @use_variants.setter
    def use_variants(self, value: bool) -> None:
        self._use_variants = bool(value)

    def knows_no_variants(self, url: str) -> bool:
        """True when ``url``'s variant answered 404: it is shown from its original."""
        return url in self._no_variants

    async def display_url(self, url: str, edge: float) -> str:
        """The URL ``fetch_display(url, edge)`` asks for first."""
        chosen = image_variants.edge_for(edge)
        if chosen is None or url in self._no_variants or not image_variants.has_variants(url):
            return url
        if not await self._variants_enabled():
            return url
        return image_variants.variant_url(url, chosen) or url

    async def fetch_display(self, url: str, edge: float) -> bytes:
        """Bytes good for showing ``url`` ``edge`` device pixels on its long side: the
        covering variant when the backend makes them, else the original. A variant that
        answers 404 (an old record) falls back to the original, and that URL goes straight
        to its original from then on."""
        wanted = await self.display_url(url, edge)
        if wanted == url:
            return await self.fetch(url)
        try:
            return await self.fetch(wanted)
        except ImageNotFound:
            self._no_variants[url] = None
            while len(self._no_variants) > NO_VARIANTS_REMEMBERED:
                self._no_variants.popitem(last=False)
            log.info("no variants for %s: showing the original", url)
            return await self.fetch(url)

    async def _variants_enabled(self) -> bool:
        if self._use_variants is not None:
            return self._use_variants
        features = self._features
        if features is None:
            return False
        if features.known is not None:
            self._use_variants = image_variants.FEATURE in features.known
            return self._use_variants
        if self._learning is None or self._learning.done():
            if time.monotonic() - self._asked_at < FEATURES_RETRY_S:
                return False  # asked a moment ago and got no verdict: originals for now
            self._asked_at = time.monotonic()
            self._learning = asyncio.get_running_loop().create_task(
                self._learn(features), name="image variants feature"
            )
        try:
            return await asyncio.wait_for(asyncio.shield(self._learning), FEATURES_WAIT_S)
        except TimeoutError:
            return False

    async def _learn(self, features: BackendFeatures) -> bool:
        try:
            if features.forced is None:
                # Waits for the engine's own probe (one /healthz per backend).
                await features.server_billing()
                known = features.known
            else:  # an engine told which flow to run never probes: ask directly
                known = await features.api.features()
        except Exception as exc:  # no verdict: originals for now, asked again later
            log.info("image variants unknown for now (%s)", exc)
            return False
        if known is None:
            return False
        self._use_variants = image_variants.FEATURE in known
        return self._use_variants

    # -- fetching --------------------------------------------------------------------------------
    def cache_for(self, url: str) -> DiskCache:
        return self.variants if image_variants.parse_variant(url) is not None else self.originals

    def cached_path(self, url: str) -> Path:
        """Where ``url``'s bytes are (or would be) cached."""
        return self.cache_for(url).path_for(url)

    async def fetch(self, url: str) -> bytes:
        """The bytes at ``url`` exactly (the original for an original's URL), from the disk
        cache or the network (concurrent asks share one download)."""
        for _attempt in range(2):
            path = await self.fetch_path(url)
            try:
                return await asyncio.to_thread(path.read_bytes)
            except FileNotFoundError:  # evicted between the lookup and the read
                continue
        raise ImageFetchError("The image could not be kept in the cache folder.")

    async def fetch_path(self, url: str) -> Path:
        """The cached file holding ``url``'s bytes, downloaded if need be."""
        cache = self.cache_for(url)
        hit = await asyncio.to_thread(cache.get, url)
        if hit is not None:
            return hit
        running = self._inflight.get(url)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._inflight[url] = future
        try:
            path = await self._download(local_store_url(url, self.local_base), cache, url)
            future.set_result(path)
            return path
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters (if any) re-raise it themselves
            raise
        finally:
            self._inflight.pop(url, None)

    async def save_to(self, url: str, target: Path) -> Path:
        """Write the original's bytes to ``target`` (copied from the cache file, never held
        whole in memory)."""
        for _attempt in range(2):
            path = await self.fetch_path(url)
            try:
                await asyncio.to_thread(_copy_atomic, path, target)
                return target
            except FileNotFoundError:
                if not path.exists():
                    continue  # evicted between the lookup and the copy
                raise
        raise ImageFetchError("The image could not be kept in the cache folder.")

    async def close(self) -> None:
        if self._learning is not None and not self._learning.done():
            self._learning.cancel()
            await asyncio.gather(self._learning, return_exceptions=True)
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    async def _download(self, url: str, cache: DiskCache, key: str) -> Path:
        """Stream ``url`` into a temp file beside the cache (the size cap is checked on the
        declared length and again while the body arrives), then move it in as ``key``."""
        if not url.startswith(("http://", "https://")):
            raise ImageFetchError(f"{url} is not a web address.")
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        tmp = await asyncio.to_thread(cache.temp_path)
        try:
            async with self._limit:
                await self._stream_to(self._client, url, tmp)
            return await asyncio.to_thread(cache.add, key, tmp)
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    async def _stream_to(client: httpx.AsyncClient, url: str, tmp: Path) -> None:
        try:
            async with client.stream("GET", url, follow_redirects=True) as resp:
                if resp.status_code == 404:
                    raise ImageNotFound("The image is no longer on the server (404).")
                if resp.status_code != 200:
                    raise ImageFetchError(
                        "The image could not be downloaded "
                        f"(the server answered {resp.status_code})."
                    )
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_IMAGE_BYTES:
                    raise _too_large()
                received = 0
                # Plain writes on the loop: chunks go to the page cache in microseconds,
                # and a thread hop per chunk would cost more than it saves.
                with tmp.open("wb") as out:
                    async for chunk in resp.aiter_bytes(_CHUNK):
                        received += len(chunk)
                        if received > MAX_IMAGE_BYTES:
                            raise _too_large()
                        out.write(chunk)
        except httpx.HTTPError as exc:
            raise ImageFetchError(f"The image could not be downloaded ({exc}).") from exc


def _copy_atomic(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
