"""The gallery benchmark still runs end to end, and measures what it says it measures.

Tiny images and a dozen generations (``measure(smoke=True)``): a real backend, the
bandwidth-limited proxy and the real window in two child processes. Only structure is
asserted (no timing: the figures live in docs/benchmarks.md).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bench.bench_gallery import MODES, measure, results
from bench.photo_images import encode, photo
from catalog.image_variants import has_variants, parse_variant


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return measure(smoke=True, work=tmp_path_factory.mktemp("gallery"))


@pytest.mark.timeout(240)
def test_both_modes_show_the_same_first_screen(measured: dict[str, Any]) -> None:
    today, now = measured["today"], measured["now"]
    assert set(MODES) <= measured.keys()
    for mode in (today, now):
        assert mode["window"] == [1280, 800]
        assert mode["tiles"] > 0 and mode["failed_tiles"] == 0
        assert mode["phases"]["first_screen"]["bytes_down"] > 0
        assert math.isfinite(mode["first_screen_ms"]) and mode["first_screen_ms"] > 0
    # One switch changed, nothing else: the same tiles, with their own URLs.
    assert today["grid_urls"] == now["grid_urls"]
    assert len(set(now["grid_urls"])) == len(now["grid_urls"])


@pytest.mark.timeout(240)
def test_now_fetches_variants_for_the_grid_and_today_originals(
    measured: dict[str, Any],
) -> None:
    today = measured["today"]["phases"]["first_screen"]
    now = measured["now"]["phases"]["first_screen"]
    assert now["originals"] == [], now["originals"]
    assert now["variants"] >= measured["now"]["tiles"]
    assert len(today["originals"]) >= measured["today"]["tiles"]
    assert today["variants"] == 0
    assert now["bytes_down"] < today["bytes_down"]


@pytest.mark.timeout(240)
def test_the_session_was_stored_with_variants(measured: dict[str, Any]) -> None:
    session = measured["session"]
    assert session["generations"] == 12
    # Every original the rehost path stored got all three variants written beside it.
    assert session["variants_at_rehost"] == 3 * session["originals_rehosted"] > 0


@pytest.mark.timeout(240)
def test_the_carousel_and_memory_figures_exist(measured: dict[str, Any]) -> None:
    for mode in MODES:
        figures = measured[mode]
        assert figures["carousel_ms"] > 0
        assert len(figures["page_ms"]) == 2
        assert figures["rss_carousel_mb"] > 0
        url = figures["carousel_url"]
        assert has_variants(url) and parse_variant(url) is None  # rows hold originals
    rows = results(measured)
    assert len(rows) == 4
    for row in rows:
        assert row.ours is not None and math.isfinite(row.ours) and row.ours > 0
        assert row.reference is not None and row.reference > 0


def test_photographs_compress_like_photographs(tmp_path: Path) -> None:
    """Detail, not gradients: even at 512 px a PNG stays large (a smooth gradient of this
    size is a few KB), and JPEG at q92 is several times smaller than PNG."""
    image = photo(512, 512, seed=7)
    png, jpeg = encode(image, "png"), encode(image, "jpeg")
    assert image.size == (512, 512)
    assert len(png) > 300_000
    assert 40_000 < len(jpeg) < len(png) / 2
    with pytest.raises(ValueError, match="jpeg or png"):
        encode(image, "gif")
