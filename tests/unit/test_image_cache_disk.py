"""The image disk cache stays within its budgets (issue 18 item 6, issue 20): least recently
used files go first, a read counts as a use, variants and originals are budgeted apart, and
files of older versions or crashed downloads are found and accounted for."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gui.engine.image_cache_disk import DiskCache, entry_name
from gui.engine.images import ImageFetcher
from tests.image_server import ImageServer, photo_bytes, variant_bytes


def _age(cache: DiskCache, key: str, seconds_ago: float) -> None:
    stamp = time.time() - seconds_ago
    os.utime(cache.path_for(key), (stamp, stamp))


def test_adding_past_the_budget_evicts_the_least_recently_used(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, budget_bytes=3000)
    for key in ("a", "b", "c"):
        cache.add_bytes(key, b"x" * 1000)
    assert cache.total_bytes == 3000
    assert cache.get("a") is not None  # a read makes "a" the most recent
    cache.add_bytes("d", b"x" * 1000)
    # Trimmed below the budget (to its low-water mark): the two oldest ("b", "c") left.
    assert cache.get("b") is None and cache.get("c") is None
    assert cache.get("a") is not None and cache.get("d") is not None
    assert cache.total_bytes == 2000
    assert not cache.path_for("b").exists()


def test_a_file_larger_than_the_budget_is_kept_until_the_next_add(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, budget_bytes=500)
    path = cache.add_bytes("big", b"x" * 800)  # the caller is about to read it
    assert path.read_bytes() == b"x" * 800
    cache.add_bytes("next", b"y" * 100)
    assert cache.get("big") is None and cache.total_bytes == 100


def test_a_restart_finds_the_order_leftovers_and_older_files(tmp_path: Path) -> None:
    first = DiskCache(tmp_path, budget_bytes=10_000)
    for n, key in enumerate(("old", "mid", "new")):
        first.add_bytes(key, b"x" * 1000)
        _age(first, key, 300 - n * 100)
    legacy = tmp_path / entry_name("legacy")[:2] / entry_name("legacy")
    legacy.parent.mkdir(exist_ok=True)
    legacy.write_bytes(b"z" * 1000)  # an older version's file, same layout
    os.utime(legacy, (time.time() - 900,) * 2)
    (tmp_path / ".partial-deadbeef").write_bytes(b"half a download")
    (tmp_path / "variants").mkdir()
    (tmp_path / "variants" / "not-ours.txt").write_text("another cache's")

    again = DiskCache(tmp_path, budget_bytes=3500)
    assert again.total_bytes == 4000  # the legacy file is counted
    assert not (tmp_path / ".partial-deadbeef").exists()
    again.add_bytes("newest", b"x" * 500)
    # Oldest first, down to 90 % of the budget: the legacy file, then "old".
    assert not legacy.exists() and again.get("old") is None
    assert all(again.get(key) is not None for key in ("mid", "new", "newest"))
    assert again.total_bytes == 2500
    assert (tmp_path / "variants" / "not-ours.txt").exists()


def test_a_budget_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive budget"):
        DiskCache(tmp_path, budget_bytes=0)


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with ImageServer(variants=True) as running:
        yield running


async def test_variants_and_originals_have_separate_budgets(
    server: ImageServer, tmp_path: Path
) -> None:
    originals = [server.add(photo_bytes((700, 700), color=c)) for c in ("red", "blue")]
    photo = photo_bytes((900, 600), color="green")
    budget = int(len(variant_bytes(photo, 768)) * 4.5)  # four of the scroll's variants
    fetcher = ImageFetcher(tmp_path / "cache", variants_budget=budget, originals_budget=10**7)
    fetcher.use_variants = True
    try:
        for url in originals:
            await fetcher.fetch(url)  # opened in the carousel, say
        kept = fetcher.originals.total_bytes
        # A long scroll: many more variants than their budget holds.
        scrolled = [server.add(photo) for _ in range(12)]
        for url in scrolled:
            await fetcher.fetch_display(url, 700)
        assert 0 < fetcher.variants.total_bytes <= budget
        assert fetcher.originals.total_bytes == kept  # untouched by the scroll
        assert all(fetcher.originals.get(url) is not None for url in originals)
        # The earliest variants were evicted, the latest kept; asking again refetches.
        first, last = scrolled[0], scrolled[-1]
        assert server.originals_asked() == sorted(
            u.removeprefix(server.base_url) for u in originals
        )
        await fetcher.fetch_display(last, 700)
        await fetcher.fetch_display(first, 700)
        asked = server.variants_asked()
        assert asked.count(_variant_path(server, first)) == 2
        assert asked.count(_variant_path(server, last)) == 1
    finally:
        await fetcher.close()


def _variant_path(server: ImageServer, url: str) -> str:
    from catalog.image_variants import variant_url

    variant = variant_url(url, 768)
    assert variant is not None
    return variant.removeprefix(server.base_url)
