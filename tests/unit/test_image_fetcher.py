"""ImageFetcher (issue 20 / issue 18 item 6): display images as the server's variants, the
original only when asked, a variant's 404 remembered, a size cap checked while streaming,
and concurrent asks sharing one download. Against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

import gui.engine.images as images_module
from catalog import image_variants
from gui.engine.api_client import ApiClient
from gui.engine.capabilities import BackendFeatures
from gui.engine.images import ImageFetcher, ImageFetchError
from gui.engine.tokens import StaticTokenProvider
from tests.image_server import ImageServer, photo_bytes


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with ImageServer(variants=True) as running:
        yield running


def _size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


async def test_display_images_are_variants_and_fetch_is_the_original(
    server: ImageServer, tmp_path: Path
) -> None:
    url = server.add(photo_bytes((2000, 1000)))
    fetcher = ImageFetcher(tmp_path / "cache")
    fetcher.use_variants = True
    try:
        assert _size(await fetcher.fetch_display(url, 210)) == (256, 128)
        assert _size(await fetcher.fetch_display(url, 700)) == (768, 384)
        assert _size(await fetcher.fetch_display(url, image_variants.LARGE_EDGE)) == (1536, 768)
        assert server.originals_asked() == []
        # Past the largest variant only the original holds the detail.
        assert _size(await fetcher.fetch_display(url, 3000)) == (2000, 1000)
        assert _size(await fetcher.fetch(url)) == (2000, 1000)
        assert server.asked(url) == 1  # the second came from the disk cache
        # Each kind went to its own cache.
        assert fetcher.variants.total_bytes > 0 and fetcher.originals.total_bytes > 0
        assert fetcher.cached_path(url).parent.parent == fetcher.cache_dir
    finally:
        await fetcher.close()


async def test_without_the_feature_display_images_are_originals(tmp_path: Path) -> None:
    with ImageServer(variants=False) as server:
        url = server.add(photo_bytes((900, 900)))
        api = ApiClient(server.base_url, StaticTokenProvider("t"))
        fetcher = ImageFetcher(tmp_path / "cache", features=BackendFeatures(api))
        try:
            assert _size(await fetcher.fetch_display(url, 256)) == (900, 900)
            assert not fetcher.use_variants
            assert server.variants_asked() == [] and server.asked(url) == 1
        finally:
            await fetcher.close()
            await api.aclose()


async def test_the_feature_verdict_turns_variants_on(server: ImageServer, tmp_path: Path) -> None:
    url = server.add(photo_bytes((900, 600)))
    api = ApiClient(server.base_url, StaticTokenProvider("t"))
    fetcher = ImageFetcher(tmp_path / "cache", features=BackendFeatures(api))
    try:
        assert _size(await fetcher.fetch_display(url, 256)) == (256, 171)
        assert fetcher.use_variants
        assert server.originals_asked() == [] and server.asked("/healthz") == 1
    finally:
        await fetcher.close()
        await api.aclose()


async def test_a_variant_404_falls_back_once_and_is_remembered(
    server: ImageServer, tmp_path: Path
) -> None:
    old = server.add(photo_bytes((800, 800)), variants=False)  # an old R2 record
    fetcher = ImageFetcher(tmp_path / "cache")
    fetcher.use_variants = True
    try:
        assert _size(await fetcher.fetch_display(old, 256)) == (800, 800)
        assert fetcher.knows_no_variants(old)
        assert _size(await fetcher.fetch_display(old, 700)) == (800, 800)
        # One failed variant request in all, the original downloaded once.
        assert server.variants_asked() == [
            image_variants.variant_url(old, 256).removeprefix(server.base_url)
        ]
        assert server.asked(old) == 1
    finally:
        await fetcher.close()


async def test_other_failures_are_sentences_and_not_remembered(
    server: ImageServer, tmp_path: Path
) -> None:
    fetcher = ImageFetcher(tmp_path / "cache")
    try:
        with pytest.raises(ImageFetchError, match="no longer on the server"):
            await fetcher.fetch(f"{server.base_url}/files/outputs/{'a' * 32}.png")
        with pytest.raises(ImageFetchError, match="is not a web address"):
            await fetcher.fetch("file:///etc/passwd")
    finally:
        await fetcher.close()
    assert _files(tmp_path / "cache") == []


@pytest.mark.parametrize("sized", [True, False], ids=["declared", "streamed"])
async def test_an_over_cap_body_is_refused_while_streaming_and_leaves_nothing(
    server: ImageServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sized: bool
) -> None:
    monkeypatch.setattr(images_module, "MAX_IMAGE_BYTES", 200_000)
    big = server.add(Image.effect_noise((700, 700), 90).tobytes(), ext="png", sized=sized)
    fetcher = ImageFetcher(tmp_path / "cache")
    try:
        with pytest.raises(ImageFetchError, match="the most the app downloads"):
            await fetcher.fetch(big)
    finally:
        await fetcher.close()
    assert _files(tmp_path / "cache") == []


async def test_concurrent_asks_share_one_download_and_save_copies_the_original(
    server: ImageServer, tmp_path: Path
) -> None:
    data = photo_bytes((1200, 800))
    url = server.add(data)
    fetcher = ImageFetcher(tmp_path / "cache")
    try:
        results = await asyncio.gather(*(fetcher.fetch(url) for _ in range(5)))
        assert all(r == data for r in results) and server.asked(url) == 1
        target = await fetcher.save_to(url, tmp_path / "out" / "saved.jpg")
        assert target.read_bytes() == data
    finally:
        await fetcher.close()


async def test_old_embedded_ports_are_rewritten_for_variants_too(
    server: ImageServer, tmp_path: Path
) -> None:
    url = server.add(photo_bytes((600, 400)))
    stale = url.replace(server.base_url, "http://127.0.0.1:9")  # the port it used to have
    fetcher = ImageFetcher(tmp_path / "cache", local_base=server.base_url)
    fetcher.use_variants = True
    try:
        assert _size(await fetcher.fetch_display(stale, 256)) == (256, 171)
        assert _size(await fetcher.fetch(stale)) == (600, 400)
    finally:
        await fetcher.close()
