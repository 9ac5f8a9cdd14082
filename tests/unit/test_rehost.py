"""Rehosting provider outputs into the object store, and the per-job results cache."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx
from PIL import Image

from backend.providers.base import ProviderImage
from backend.rehost import Rehoster, RehostError
from backend.results_cache import ResultsCache, job_key
from backend.store.local import LocalObjectStore

BASE = "http://127.0.0.1:9999"
CDN = "https://cdn.provider.example"


def _png(color: str = "navy") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), color).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "files", BASE, b"unit-test-secret-0123456789abcdef")


@pytest.fixture
async def rehoster(store: LocalObjectStore) -> AsyncIterator[Rehoster]:
    async with httpx.AsyncClient() as client:
        yield Rehoster(store, client, max_bytes=10_000)


async def _read(store: LocalObjectStore, url: str) -> bytes:
    key = store.key_for_url(url)
    assert key is not None, url
    return await store.get(key)


async def test_bytes_are_stored_under_a_fresh_key(
    rehoster: Rehoster, store: LocalObjectStore
) -> None:
    data = _png()
    url = (await rehoster.rehost(ProviderImage(data=data, content_type="image/jpeg"))).url
    assert url.startswith(BASE + "/files/generations/") and url.endswith(".png")  # sniffed
    assert await _read(store, url) == data


async def test_urls_already_in_our_store_are_kept(
    rehoster: Rehoster, store: LocalObjectStore
) -> None:
    url = await store.put("generations/2026/01/01/abc.png", _png(), "image/png")
    assert (await rehoster.rehost(ProviderImage(url=url))).url == url


async def test_provider_urls_are_downloaded_once_and_stored(
    rehoster: Rehoster, store: LocalObjectStore
) -> None:
    data = _png("orange")
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{CDN}/out.png").respond(200, content=data)
        url = (await rehoster.rehost(ProviderImage(url=f"{CDN}/out.png"))).url
    assert route.call_count == 1
    assert url.startswith(BASE + "/files/")
    assert await _read(store, url) == data


async def test_data_urls_are_decoded(rehoster: Rehoster, store: LocalObjectStore) -> None:
    data = _png("green")
    url = (
        await rehoster.rehost(
            ProviderImage(url="data:image/png;base64," + base64.b64encode(data).decode())
        )
    ).url
    assert await _read(store, url) == data


@pytest.mark.parametrize(
    ("status", "content", "fragment"),
    [
        (404, b"", "answered 404"),
        (200, b"<html>not an image</html>", "not an image"),
        (200, b"\x89PNG\r\n\x1a\n" + b"\0" * 20_000, "too large"),
    ],
)
async def test_bad_downloads_are_refused_with_a_sentence(
    rehoster: Rehoster, status: int, content: bytes, fragment: str
) -> None:
    with respx.mock() as mock:
        mock.get(f"{CDN}/bad").respond(status, content=content)
        with pytest.raises(RehostError) as info:
            await rehoster.rehost(ProviderImage(url=f"{CDN}/bad"))
    assert fragment in info.value.message


async def test_unreachable_provider_and_odd_urls_are_refused(rehoster: Rehoster) -> None:
    with respx.mock() as mock:
        mock.get(f"{CDN}/down").mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(RehostError, match="could not be downloaded"):
            await rehoster.rehost(ProviderImage(url=f"{CDN}/down"))
    for url in ("file:///etc/passwd", "ftp://x/y.png", ""):
        with pytest.raises(RehostError):
            await rehoster.rehost(ProviderImage(url=url))
    with pytest.raises(RehostError):
        await rehoster.rehost(ProviderImage(url="data:image/png,notbase64"))


async def test_results_cache_runs_the_rehost_once_under_concurrency(database_url: str) -> None:
    cache = ResultsCache(database_url)
    key = job_key("local", "job-1")
    calls = 0

    async def make() -> list[str]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)  # let the other callers pile up on the lock
        return [f"{BASE}/files/generations/a.png"]

    results = await asyncio.gather(*(cache.get_or_create(key, make) for _ in range(5)))
    assert calls == 1
    assert all(r == results[0] for r in results)
    # A new cache object on the same database (a restart, another process) answers too.
    again = ResultsCache(database_url)
    assert await again.get(key) == results[0]
    # Another process that rehosted the same job meanwhile keeps the first one's images.
    assert again._put(key, [f"{BASE}/files/generations/b.png"]) == results[0]
    again.close()
    assert await cache.get(job_key("local", "job-2")) is None
    assert job_key("fal", "job-1") != key
    cache.close()
