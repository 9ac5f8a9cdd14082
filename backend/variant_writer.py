"""Display-size variants beside the originals in our object store (local or R2 alike).

The maker (:mod:`backend.image_variants_maker`) turns bytes into WebP; this puts them at
:mod:`catalog.image_variants`' keys. A variant is a convenience, never a condition: every
method here logs a failure and carries on, so no generation, upload or request fails
because a thumbnail could not be made (the client then shows the original).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from backend.image_variants_maker import VariantError, image_size, make_variant, make_variants
from backend.image_work_pool import BACKGROUND, URGENT, ImageWorkPool
from backend.store.base import ObjectStore
from catalog.image_variants import (
    VARIANT_CONTENT_TYPE,
    VARIANT_EDGES,
    VARIANT_EXTENSION,
    has_variants,
    parse_variant,
    variant_key,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# The extensions an original may have (the store's own, and "jpeg" which the convention
# also accepts); a variant's name does not say which, so the original is looked up by each.
ORIGINAL_EXTENSIONS: tuple[str, ...] = ("png", "jpg", "jpeg", "webp", "gif")
Size = tuple[int, int]


def _has_variants_key(key: str) -> bool:
    return has_variants("/" + key)


class VariantWriter:
    """Makes and stores variants; one per app, so CPU work is bounded across all callers."""

    def __init__(
        self,
        store: ObjectStore,
        max_concurrent: int | None = None,
        *,
        pool: ImageWorkPool | None = None,
    ) -> None:
        self.store = store
        # The server's worker processes, when it has them (the work then leaves the loop's
        # process); else threads, at most max_concurrent at once.
        self.pool = pool
        # Decoding a 4K image takes a core for a few hundred ms: never more at once than
        # there are cores, whatever mix of generations, uploads and first requests asks.
        self._cpu = asyncio.Semaphore(max_concurrent or os.cpu_count() or 1)
        self._inflight: dict[str, asyncio.Task[Any]] = {}
        self._background: set[asyncio.Task[Any]] = set()

    # -- what the callers use -----------------------------------------------------------

    async def write(self, key: str, data: bytes) -> Size | None:
        """Every variant of ``data``, the original just stored (or being stored) at
        ``key``; returns its displayed size, or None when it cannot be read."""
        if not _has_variants_key(key):
            return await self._size_of(data, key)
        return await self._once(
            f"write:{key}", lambda: self._write_all(key, data, VARIANT_EDGES, URGENT)
        )

    async def write_after(self, key: str, data: bytes) -> Size | None:
        """Like :meth:`write`, but answers with the size from the header at once and makes
        the variants in a task of its own (for a store that makes a variant asked for
        before it exists: a first request then waits for this task, not for a second
        decode)."""
        if _has_variants_key(key):
            task = asyncio.ensure_future(self.write(key, data))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return await self._size_of(data, key)

    async def ensure(self, key: str, *, need_size: bool = True) -> Size | None:
        """For an original already in the store: make the variants it lacks (records from
        before variants, uploads to R2). Returns its displayed size (None if unreadable,
        or when ``need_size`` is False and nothing had to be made: the original is then
        not even read)."""
        return await self._once(f"ensure:{key}:{need_size}", lambda: self._ensure(key, need_size))

    def ensure_in_background(self, keys: Iterable[str]) -> None:
        """:meth:`ensure` each key in a task of its own: the caller neither waits nor fails."""
        for key in dict.fromkeys(keys):
            if not _has_variants_key(key):
                continue
            task = asyncio.ensure_future(self.ensure(key, need_size=False))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def make_missing(self, key: str) -> bool:
        """Make the one variant ``key`` names from the original beside it (an old record's
        first request). False when ``key`` is no variant or its original is absent."""
        parsed = parse_variant(key)
        # Only the one spelling the convention makes ("-w256", never "-w0256"): a request
        # can never make the store write a file under a name of its choosing.
        if parsed is None or key != f"{parsed[0]}-w{parsed[1]}.{VARIANT_EXTENSION}":
            return False
        for ext in ORIGINAL_EXTENSIONS:
            pending = self._inflight.get(f"write:{parsed[0]}.{ext}")
            if pending is not None:  # its original's variants are being made right now
                await asyncio.gather(asyncio.shield(pending), return_exceptions=True)
                if await self.store.size(key):
                    return True
                break
        made: bool = await self._once(f"one:{key}", lambda: self._make_one(key))
        return made

    async def settled(self) -> None:
        """Wait until the background work started so far has ended (tests, benchmarks)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def close(self) -> None:
        """Server shutdown: what is still being made in the background is dropped."""
        tasks = list(self._background) + list(self._inflight.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- internals ------------------------------------------------------------------------

    async def _once(self, name: str, make: Callable[[], Awaitable[T]]) -> T:
        """Concurrent callers for the same work share one run (two first requests for one
        variant decode the original once); shielded, so one caller leaving stops nothing."""
        task = self._inflight.get(name)
        if task is None:
            task = asyncio.ensure_future(make())
            self._inflight[name] = task

            def forget(done: asyncio.Task[Any], name: str = name) -> None:
                if self._inflight.get(name) is done:
                    del self._inflight[name]

            task.add_done_callback(forget)
        result: T = await asyncio.shield(task)
        return result

    async def _size_of(self, data: bytes, key: str) -> Size | None:
        try:
            return await asyncio.to_thread(image_size, data)
        except VariantError as exc:
            log.warning("cannot read the size of %s: %s", key, exc.message)
            return None

    async def _cpu_work(self, priority: int, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the pool's workers (``priority``), else in a bounded thread."""
        if self.pool is not None:
            return await self.pool.run(fn, *args, priority=priority)
        async with self._cpu:
            return await asyncio.to_thread(fn, *args)

    async def _write_all(
        self, key: str, data: bytes, edges: Iterable[int], priority: int
    ) -> Size | None:
        try:
            made = await self._cpu_work(priority, make_variants, data, tuple(edges))
        except VariantError as exc:
            log.warning("no variants for %s: %s", key, exc.message)
            return await self._size_of(data, key)
        except Exception:  # a Pillow bug must not fail the generation
            log.exception("making the variants of %s failed", key)
            return await self._size_of(data, key)
        results = await asyncio.gather(
            *(
                self._put(variant_key(key, edge), webp)
                for edge, webp in sorted(made.variants.items())
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                log.warning("storing a variant of %s failed: %s", key, type(result).__name__)
        return made.width, made.height

    async def _put(self, key: str | None, data: bytes) -> None:
        assert key is not None  # the caller checked the original's shape
        await self.store.put(key, data, VARIANT_CONTENT_TYPE)

    async def _ensure(self, key: str, need_size: bool) -> Size | None:
        try:
            missing: list[int] = []
            if _has_variants_key(key):
                keys = [variant_key(key, edge) or "" for edge in VARIANT_EDGES]
                sizes = await asyncio.gather(*(self.store.size(k) for k in keys))
                missing = [e for e, size in zip(VARIANT_EDGES, sizes, strict=True) if not size]
            if not missing and not need_size:
                return None
            data = await self.store.get(key)
        except KeyError:
            return None  # not (or no longer) in the store: nothing to make it from
        except Exception:
            log.exception("reading %s to make its variants failed", key)
            return None
        if not missing:
            return await self._size_of(data, key)
        # Nobody waits for a background ensure: it goes behind requests' work.
        return await self._write_all(key, data, missing, URGENT if need_size else BACKGROUND)

    async def _original_of(self, key: str) -> tuple[str, bytes] | None:
        parsed = parse_variant(key)
        if parsed is None:
            return None
        base, _edge = parsed
        for ext in ORIGINAL_EXTENSIONS:
            candidate = f"{base}.{ext}"
            if variant_key(candidate, VARIANT_EDGES[0]) is None:
                continue
            try:
                return candidate, await self.store.get(candidate)
            except KeyError:
                continue
        return None

    async def _make_one(self, key: str) -> bool:
        parsed = parse_variant(key)
        found = await self._original_of(key) if parsed is not None else None
        if parsed is None or found is None:
            return False
        original, data = found
        try:
            webp = await self._cpu_work(URGENT, make_variant, data, parsed[1])
            await self.store.put(key, webp, VARIANT_CONTENT_TYPE)
        except VariantError as exc:
            log.warning("no variant of %s: %s", original, exc.message)
            return False
        except Exception:
            log.exception("making %s failed", key)
            return False
        return True
