"""Variants written beside originals in a real local store, by the writer and the rehoster."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from backend.providers.base import ProviderImage
from backend.rehost import Rehoster
from backend.results_cache import ResultsCache, job_key
from backend.store.base import new_key
from backend.store.local import LocalObjectStore
from backend.stored_image import StoredImage
from backend.variant_writer import ORIGINAL_EXTENSIONS, VariantWriter
from catalog.image_variants import VARIANT_EDGES, has_variants, variant_key

BASE = "http://127.0.0.1:9999"


def jpeg(width: int = 2000, height: int = 1000) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(buf, "JPEG", quality=85)
    return buf.getvalue()


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "files", BASE, b"unit-test-secret-0123456789abcdef")


@pytest.fixture
def writer(store: LocalObjectStore) -> VariantWriter:
    return VariantWriter(store)


@pytest.fixture
async def rehoster(store: LocalObjectStore, writer: VariantWriter) -> AsyncIterator[Rehoster]:
    async with httpx.AsyncClient() as client:
        yield Rehoster(store, client, variants=writer)


def files_under(store: LocalObjectStore) -> set[str]:
    return {str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file()}


async def test_every_original_extension_is_one_the_convention_accepts() -> None:
    for ext in ORIGINAL_EXTENSIONS:
        assert has_variants(f"/generations/2026/01/01/{'a' * 32}.{ext}")


async def test_rehosted_bytes_come_back_with_size_type_and_variants(
    rehoster: Rehoster, store: LocalObjectStore
) -> None:
    image = await rehoster.rehost(ProviderImage(data=jpeg(2000, 1000)))
    assert (image.width, image.height, image.content_type) == (2000, 1000, "image/jpeg")
    key = store.key_for_url(image.url)
    assert key is not None
    # The local store makes a variant asked for early: they follow the answer.
    assert store.makes_missing_variants
    await rehoster.variants.settled()
    expected = {256: (256, 128), 768: (768, 384), 1536: (1536, 768)}
    for edge in VARIANT_EDGES:
        assert size_of(await store.get(variant_key(key, edge) or "")) == expected[edge]
    assert image.to_json() == {
        "url": image.url,
        "width": 2000,
        "height": 1000,
        "contentType": "image/jpeg",
    }


async def test_a_variant_asked_for_before_it_is_written_waits_for_that_write(
    rehoster: Rehoster, store: LocalObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = await rehoster.rehost(ProviderImage(data=jpeg(2000, 1000)))
    key = store.key_for_url(image.url)
    assert key is not None
    small = variant_key(key, VARIANT_EDGES[0]) or ""

    def second_decode(*_args: object) -> bytes:
        raise AssertionError("the variant was made a second time")

    monkeypatch.setattr("backend.variant_writer.make_variant", second_decode)
    assert await rehoster.variants.make_missing(small)  # the first request's path
    assert size_of(await store.get(small)) == (256, 128)


async def test_an_output_pillow_cannot_read_is_kept_without_variants(
    rehoster: Rehoster, store: LocalObjectStore
) -> None:
    # PNG magic, garbage after it: stored as before, no variants, no size, no error.
    image = await rehoster.rehost(ProviderImage(data=b"\x89PNG\r\n\x1a\n" + b"\x01" * 64))
    assert image.width is None and image.height is None
    assert image.to_json() == {"url": image.url, "contentType": "image/png"}
    assert len(files_under(store)) == 1


async def test_an_output_already_in_our_store_gets_its_missing_variants(
    rehoster: Rehoster, store: LocalObjectStore
) -> None:
    key = new_key("generations", "image/jpeg")
    url = await store.put(key, jpeg(900, 1800), "image/jpeg")
    await store.put(variant_key(key, 256) or "", b"kept as it is", "image/webp")
    image = await rehoster.rehost(ProviderImage(url=url))
    assert image == StoredImage(url=url, width=900, height=1800, content_type="image/jpeg")
    assert await store.get(variant_key(key, 256) or "") == b"kept as it is"  # not remade
    assert size_of(await store.get(variant_key(key, 768) or "")) == (384, 768)
    assert size_of(await store.get(variant_key(key, 1536) or "")) == (768, 1536)


async def test_make_missing_builds_one_variant_from_the_original_beside_it(
    writer: VariantWriter, store: LocalObjectStore
) -> None:
    key = new_key("uploads", "image/jpeg")
    await store.put(key, jpeg(), "image/jpeg")
    wanted = variant_key(key, 768) or ""
    # Many first requests at once: one decode, one file, whole.
    results = await asyncio.gather(*(writer.make_missing(wanted) for _ in range(6)))
    assert results == [True] * 6
    assert size_of(await store.get(wanted)) == (768, 384)
    assert files_under(store) == {key, wanted}


@pytest.mark.parametrize(
    "name",
    [
        "generations/2026/01/01/{stem}-w512.webp",  # an edge that is not offered
        "generations/2026/01/01/{stem}-w0256.webp",  # an edge spelt another way
        "generations/2026/01/01/{stem}-w256.png",  # variants are WebP only
        "generations/2026/01/01/{stem}.webp",  # no edge at all
        "generations/2026/01/01/{other}-w256.webp",  # no original beside it
    ],
)
async def test_make_missing_refuses_what_is_no_variant_of_a_stored_original(
    writer: VariantWriter, store: LocalObjectStore, name: str
) -> None:
    key = new_key("generations", "image/jpeg")
    await store.put(key, jpeg(), "image/jpeg")
    stem = key.rsplit("/", 1)[1].split(".")[0]
    before = files_under(store)
    assert not await writer.make_missing(name.format(stem=stem, other="b" * 32))
    assert files_under(store) == before


async def test_an_unreadable_original_gets_no_variant_and_no_error(
    writer: VariantWriter, store: LocalObjectStore
) -> None:
    key = new_key("uploads", "image/png")
    await store.put(key, b"\x89PNG\r\n\x1a\nnot really", "image/png")
    assert not await writer.make_missing(variant_key(key, 256) or "")
    assert await writer.write(key, b"\x89PNG\r\n\x1a\nnot really") is None
    assert files_under(store) == {key}


async def test_background_ensure_fills_in_uploads_and_skips_complete_ones(
    writer: VariantWriter, store: LocalObjectStore
) -> None:
    bare = new_key("uploads", "image/jpeg")
    await store.put(bare, jpeg(600, 600), "image/jpeg")
    writer.ensure_in_background([bare, bare, "uploads/not-a-convention-key.png"])
    await writer.settled()
    assert size_of(await store.get(variant_key(bare, 256) or "")) == (256, 256)
    assert size_of(await store.get(variant_key(bare, 1536) or "")) == (600, 600)
    # Complete now: asked again, it neither reads the original nor returns a size.
    assert await writer.ensure(bare, need_size=False) is None
    await writer.close()


async def test_results_cache_keeps_sizes_and_reads_old_bare_urls(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite3"
    cache = ResultsCache(path)
    image = StoredImage(url=f"{BASE}/files/a.png", width=10, height=20, content_type="image/png")

    async def make() -> list[StoredImage]:
        return [image]

    assert await cache.get_or_create(job_key("local", "j1"), make) == [image]
    assert await ResultsCache(path).get(job_key("local", "j1")) == [image]
    # A row written before sizes were kept: a JSON list of URLs.
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO rehosted VALUES (?, ?, 0)", (job_key("local", "old"), '["http://x/o.png"]')
        )
    assert await cache.get(job_key("local", "old")) == [StoredImage(url="http://x/o.png")]
