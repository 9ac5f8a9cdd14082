"""Issue 20, part 2: the window asks for what it shows. Real widgets (the main window's grid
and sidebar, the carousel), a real ImageFetcher, and a real HTTP server on 127.0.0.1 that
serves Pillow images with their variants and counts every request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from catalog.image_variants import LARGE_EDGE, edge_for, variant_url
from gui.engine.api_client import ApiClient
from gui.engine.capabilities import BackendFeatures
from gui.engine.convex_types import SessionGeneration, SessionSummary
from gui.engine.image_cache_disk import entry_name
from gui.engine.images import ImageFetcher
from gui.engine.tokens import StaticTokenProvider
from gui.widgets.carousel import CarouselDialog
from gui.widgets.generation_delegate import thumb_edge
from gui.widgets.generation_model import GenerationListModel
from gui.widgets.main_window import MainWindow
from gui.widgets.sessions_sidebar import PREVIEW_EDGE
from gui.widgets.thumbnail_cache import ThumbnailCache
from tests.gui.support import until
from tests.image_server import ImageServer, photo_bytes


class Shown:
    """A main window whose thumbnail cache asks a real fetcher, as WindowController wires
    it (cache.fetch -> fetcher.fetch_display -> cache.deliver)."""

    def __init__(self, tmp_path: Path, server: ImageServer) -> None:
        self.api = ApiClient(server.base_url, StaticTokenProvider("t"))
        self.fetcher = ImageFetcher(tmp_path / "cache", features=BackendFeatures(self.api))
        self.window = MainWindow(thumb_dir=tmp_path / "thumbs")
        self.window.resize(1200, 800)
        self.window.show()
        self.window.cache.fetch = self._fetch
        self._tasks: set[asyncio.Task[None]] = set()

    def _fetch(self, url: str, edge: int) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(url, edge))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, edge: int) -> None:
        try:
            data = await self.fetcher.fetch_display(url, edge)
        except Exception:
            self.window.cache.deliver(url, edge, None)
            return
        self.window.cache.deliver(url, edge, data)

    def show_session(self, cards: list[tuple[str, list[str]]]) -> None:
        """One generation (aspect ratio, image URLs) per card, the first on top, and the
        session's row in the sidebar with the first image as its preview."""
        self.window.generations.set_records(_records(cards))
        preview = cards[0][1][0]
        summary = SessionSummary.model_validate({"_id": "s", "title": "A", "preview": preview})
        self.window.sidebar.set_sessions([summary], "s")

    async def close(self) -> None:
        self.window.close()
        await self.fetcher.close()
        await self.api.aclose()


def _records(cards: list[tuple[str, list[str]]]) -> list[SessionGeneration]:
    return [
        SessionGeneration.model_validate(
            {
                "_id": f"g{n}",
                "prompt": f"picture {n}",
                "model": "img-nano-banana",
                "aspectRatio": ratio,
                "numImages": len(urls),
                "images": [{"url": url} for url in urls],
                "createdAt": 1_700_000_000_000 - n,
            }
        )
        for n, (ratio, urls) in enumerate(cards)
    ]


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with ImageServer(variants=True) as running:
        yield running


def _path(server: ImageServer, url: str | None) -> str:
    assert url is not None
    return url.removeprefix(server.base_url)


def test_the_grid_and_the_sidebar_fetch_only_the_variants_that_cover_them(
    run_qasync, tmp_path: Path, server: ImageServer
) -> None:
    square = [server.add(photo_bytes((1600, 1600))) for _ in range(3)]
    wide = server.add(photo_bytes((1600, 900)))

    async def scenario() -> None:
        shown = Shown(tmp_path, server)
        try:
            shown.show_session([("1:1", square), ("16:9", [wide])])
            cache = shown.window.cache
            await until(lambda: all(cache.peek(u) is not None for u in [*square, wide]))
            dpr = shown.window.devicePixelRatioF()
            tile = edge_for(thumb_edge(dpr))
            wide_tile = edge_for(thumb_edge(dpr, 16 / 9))
            preview = edge_for(PREVIEW_EDGE)
            assert tile is not None and wide_tile is not None and preview is not None
            assert wide_tile > tile  # a wide tile's long side needs the larger variant
            expected = {_path(server, variant_url(u, tile)) for u in square}
            expected |= {_path(server, variant_url(wide, wide_tile))}
            expected |= {_path(server, variant_url(square[0], preview))}  # the sidebar's
            await until(lambda: set(server.variants_asked()) >= expected)
            assert server.originals_asked() == []
            assert set(server.variants_asked()) == expected
            assert shown.fetcher.originals.total_bytes == 0
        finally:
            await shown.close()

    run_qasync(scenario)


def test_a_server_without_variants_gets_originals(run_qasync, tmp_path: Path) -> None:
    with ImageServer(variants=False) as server:
        urls = [server.add(photo_bytes((700, 700))) for _ in range(3)]

        async def scenario() -> None:
            shown = Shown(tmp_path, server)
            try:
                shown.show_session([("1:1", urls)])
                cache = shown.window.cache
                await until(lambda: all(cache.peek(u) is not None for u in urls))
                assert server.variants_asked() == []
                # Grid and sidebar share the one download (the disk cache).
                assert all(server.asked(u) == 1 for u in urls)
            finally:
                await shown.close()

        run_qasync(scenario)


def test_the_carousel_shows_variants_and_fetches_originals_only_to_zoom_or_copy(
    run_qasync, tmp_path: Path, server: ImageServer
) -> None:
    size = (2400, 1600)
    urls = [server.add(photo_bytes(size, color=c)) for c in ("red", "green", "blue", "gold")]

    async def scenario() -> None:
        shown = Shown(tmp_path, server)
        try:
            shown.show_session([("3:2", urls)])
            cache = shown.window.cache
            entries = shown.window.generations.all_images()
            dialog = CarouselDialog(entries, 0, cache, shown.window)
            dialog.resize(1000, 700)
            dialog.open()
            canvas = dialog.canvas
            await until(lambda: canvas.pixmap is not None and canvas.pixmap.width() == LARGE_EDGE)
            for key in (Qt.Key.Key_Right, Qt.Key.Key_Right, Qt.Key.Key_Left):
                QTest.keyClick(dialog, key)
                await until(lambda: canvas.pixmap is not None and canvas.pixmap.width() == 1536)
            assert server.originals_asked() == []  # opening and paging: variants only
            assert cache.large_bytes <= 5 * LARGE_EDGE * 1024 * 4  # this and its neighbours

            # Zoom to 100 % of the variant: it still holds the detail, so no original.
            current = dialog.current[2]
            QTest.mouseDClick(canvas, Qt.MouseButton.LeftButton)
            assert canvas.zoom == 1.0
            await asyncio.sleep(0.2)
            assert server.originals_asked() == []
            # Past it, the original loads; the variant stays on screen meanwhile.
            dialog.trigger("zoom_in")
            assert canvas.pixmap is not None and canvas.pixmap.width() == LARGE_EDGE
            await until(lambda: canvas.pixmap is not None and canvas.pixmap.width() == size[0])
            assert server.originals_asked() == [_path(server, current)]
            assert canvas.zoom == 1.25  # the swap kept the zoom (laid out at the variant's size)

            # Copy fetches the original of the image shown, and copies it whole.
            QTest.keyClick(dialog, Qt.Key.Key_Right)
            QGuiApplication.clipboard().clear()
            copied = dialog.current[2]
            dialog.trigger("copy_image")
            await until(lambda: QGuiApplication.clipboard().image().width() == size[0])
            assert server.asked(copied) == 1 and len(server.originals_asked()) == 2

            # Save goes through the fetcher's original (what the window's save does).
            saved = await shown.fetcher.save_to(copied, tmp_path / "saved.jpg")
            assert saved.read_bytes() == server.files[_path(server, copied)[len("/files/") :]]
            assert server.asked(copied) == 1  # the copy's download, from the disk cache

            dialog.reject()
            assert cache.large_bytes == 0  # closing gives the large renditions back
        finally:
            await shown.close()

    run_qasync(scenario)


def test_the_carousel_keeps_a_bounded_number_of_large_images(qtbot) -> None:
    big = photo_bytes((1600, 1600))
    budget = 3 * LARGE_EDGE * LARGE_EDGE * 4
    cache = ThumbnailCache(large_budget_bytes=budget)
    cache.fetch = lambda url, edge: cache.deliver(url, edge, big)
    urls = [f"http://x/{n}" for n in range(8)]
    model = GenerationListModel()
    model.set_records(_records([("1:1", urls)]))
    dialog = CarouselDialog(model.all_images(), 0, cache)
    qtbot.addWidget(dialog)
    dialog.show()
    for _ in urls:
        qtbot.waitUntil(lambda: dialog.canvas.pixmap is not None)
        assert cache.large_bytes <= budget
        dialog.go(1)
    qtbot.waitUntil(lambda: dialog.canvas.pixmap is not None)
    assert 0 < cache.large_bytes <= budget


def test_scaled_disk_copies_are_kept_for_originals_only_and_bounded(qtbot, tmp_path: Path) -> None:
    variant, original = photo_bytes((256, 256)), photo_bytes((1600, 1600))
    cache = ThumbnailCache(tmp_path / "thumbs", disk_budget_bytes=60_000)
    cache.fetch = lambda url, edge: cache.deliver(url, edge, variant if "w256" in url else original)
    urls = ["http://x/a-w256", *(f"http://x/original-{n}" for n in range(8))]
    for url in urls:
        cache.get(url, 256)
        qtbot.waitUntil(lambda u=url: cache.peek(u) is not None)
    copies = {f.name for f in (tmp_path / "thumbs").rglob("*.img")}
    # A variant is already the tile's size (and in the fetcher's cache): no second copy.
    # An original's 256 px copy spares decoding it again, within its own budget.
    assert entry_name(f"{urls[0]}|256", ".img") not in copies
    assert entry_name(f"{urls[-1]}|256", ".img") in copies
    assert 0 < len(copies) < 8
    assert sum(f.stat().st_size for f in (tmp_path / "thumbs").rglob("*.img")) <= 60_000
