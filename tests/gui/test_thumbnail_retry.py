"""Issue 14, item 11: a thumbnail that failed loads again once the backend is back (the
bridge's `reconnected`) or when the user clicks its tile's Reload; until then the tile is
visibly broken, not a skeleton that looks like it is still coming."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QApplication

from catalog import Options
from gui.engine.events import (
    BackgroundError,
    ConnectionChanged,
    EventBus,
    GenerationCompleted,
    GenerationStarted,
)
from gui.widgets import theme, tile_paint
from gui.widgets.bridge import EngineBridge
from gui.widgets.generation_delegate import card_layout
from gui.widgets.generation_model import GenerationListModel
from gui.widgets.grid_view import GenerationGridView
from gui.widgets.thumbnail_cache import ThumbnailCache
from tests.gui.support import open_window, until

URL = "http://x/picture"


def _png(color: str = "orange", size: tuple[int, int] = (300, 300)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


class FlakyServer:
    """The image fetch fails while `up` is False."""

    def __init__(self, cache: ThumbnailCache) -> None:
        self.up = False
        self.calls = 0
        self.cache = cache
        cache.fetch = self.fetch

    def fetch(self, url: str, edge: int) -> None:
        self.calls += 1
        self.cache.deliver(url, edge, _png() if self.up else None)


def _grid(qtbot) -> tuple[GenerationGridView, GenerationListModel, ThumbnailCache]:
    cache = ThumbnailCache()
    model = GenerationListModel()
    view = GenerationGridView(model, cache)
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show()
    qtbot.waitExposed(view)
    model.add_started(GenerationStarted("g", "a kite", Options("img-nano-banana", "1:1", 1), None))
    model.apply_completed(GenerationCompleted("g", "g", "s", (URL,)))
    return view, model, cache


def _tile(view: GenerationGridView, model: GenerationListModel):
    lay = card_layout(view.visualRect(model.index(0)), model.get("g"))
    return lay.tiles[0]


def _pixel(view: GenerationGridView, at: QPoint) -> QColor:
    return view.viewport().grab().toImage().pixelColor(at)


def _close(a: QColor, b: QColor, tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True))


def test_a_failed_tile_is_visibly_broken_and_reloads_on_click(qtbot) -> None:
    view, model, cache = _grid(qtbot)
    server = FlakyServer(cache)
    qtbot.waitUntil(lambda: cache.is_failed(URL))
    tile = _tile(view, model)
    fm = QFontMetrics(view.font())
    button = tile_paint.reload_rect(tile, fm)
    assert tile.contains(button)
    # A Reload button in the accent colour, not the skeleton's grey.
    assert _close(_pixel(view, button.center() + QPoint(0, 8)), theme.current().c("accent"))
    assert view.delegate.hit(view.visualRect(model.index(0)), model.get("g"), tile.center()) == (
        "reload",
        0,
    )
    assert "could not be loaded" in view.delegate.tooltip(
        view.visualRect(model.index(0)), model.get("g"), tile.center()
    )
    # Asking again on every paint would hammer a server that is down: it is not refetched.
    calls = server.calls
    view.viewport().repaint()
    QApplication.processEvents()
    assert server.calls == calls
    server.up = True
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=button.center())
    qtbot.waitUntil(lambda: cache.peek(URL) is not None)
    assert not cache.is_failed(URL)
    qtbot.waitUntil(lambda: _close(_pixel(view, tile.center()), QColor("orange"), 20))


def test_failed_thumbnails_load_again_when_the_backend_is_back(qtbot) -> None:
    view, model, cache = _grid(qtbot)
    server = FlakyServer(cache)
    bus = EventBus()
    bridge = EngineBridge(bus)
    bridge.reconnected.connect(cache.retry_failed)  # what the window controller wires
    qtbot.waitUntil(lambda: cache.is_failed(URL))
    bus.publish(ConnectionChanged(False, "offline"))
    QApplication.processEvents()
    assert cache.is_failed(URL)
    server.up = True
    with qtbot.waitSignal(cache.thumbnailReady):
        bus.publish(ConnectionChanged(True))
    assert cache.peek(URL) is not None and not cache.is_failed(URL)
    qtbot.waitUntil(lambda: _close(_pixel(view, _tile(view, model).center()), QColor("orange"), 20))


def test_retry_asks_again_for_every_failed_rendition(qtbot) -> None:
    cache = ThumbnailCache()
    server = FlakyServer(cache)
    failures: list[str] = []
    cache.failed.connect(failures.append)
    for edge in (256, 2048):  # the grid's and the carousel's, both asked before failing
        cache.get(URL, edge)
    qtbot.waitUntil(lambda: len(failures) == 2)
    server.up = True
    assert cache.retry_failed() == 1
    qtbot.waitUntil(lambda: all(cache.get(URL, e) is not None for e in (256, 2048)))
    assert cache.retry(URL) is False  # nothing left to retry


def test_the_window_retries_failed_thumbnails_after_reconnecting(
    run_qasync, tmp_path: Path
) -> None:
    """Through the real controller: ConnectionChanged(online=True) on the engine's bus."""

    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            calls: list[str] = []

            async def broken(url: str) -> bytes:
                calls.append(url)
                raise OSError("connection refused")

            controller.fetcher.fetch = broken
            window.cache.get(URL, 256)
            await until(lambda: window.cache.is_failed(URL))

            async def working(url: str) -> bytes:
                return _png()

            controller.fetcher.fetch = working
            controller.bus.publish(ConnectionChanged(True))
            await until(lambda: window.cache.peek(URL) is not None, limit_s=10)
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)


def test_closing_the_window_cancels_its_thumbnail_fetches(run_qasync, tmp_path: Path) -> None:
    """A fetch still on its way when the window closes is cancelled: it delivers nothing
    to the closed window's cache and reports no error (its failure once delivered to a
    cache Qt had deleted: "Signal source has been deleted")."""

    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        errors: list[object] = []
        controller.bus.subscribe(
            lambda e: errors.append(e) if isinstance(e, BackgroundError) else None
        )
        started = asyncio.Event()
        try:

            async def slow(url: str) -> bytes:
                started.set()
                await asyncio.sleep(30)
                raise OSError("the backend went away")

            controller.fetcher.fetch = slow
            window.cache.get(URL, 256)
            await asyncio.wait_for(started.wait(), 10)
            (fetch,) = controller._thumbnails
            window.close()
            await asyncio.wait({fetch}, timeout=5)
            assert fetch.cancelled()
            assert not window.cache.is_failed(URL) and window.cache.peek(URL) is None
            assert errors == []
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
