"""bench_gallery's child: the real window over the gallery session, in one mode.

``python -m bench.gallery_window --mode now|today ...`` opens a real engine session against
the deployment behind the bandwidth-limited proxy, the real MainWindow (1280x800, offscreen)
and WindowController, with the image fetcher's ``use_variants`` switch set by the mode
("today": originals fetched and decoded scaled; "now": the server's variants). Measured:

1. first screen: the controller loads the session -> every thumbnail of every card in the
   grid's viewport is decoded and a paint of the viewport has finished after the last;
2. carousel: opened on the first 4K image -> its large rendition (>= 1024 px) painted;
3. paging: Right through the next 4K images, each until its large rendition is painted,
   while the resident memory is sampled.

Between phases the child prints ``MARK <phase>`` and waits for a line on stdin: the parent
reads the proxy's byte counts and request log for the phase just ended, then answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import rss_mb
from bench.qt_probe import emit, paint_probe

WINDOW_SIZE = (1280, 800)
PHASE_TIMEOUT_S = 300.0
LARGE_MIN_EDGE = 1024  # a carousel rendition this large is not the grid's thumbnail


def mark(phase: str) -> None:
    """Let the parent read the proxy for the phase that just ended; wait until it has."""
    print(f"MARK {phase}", flush=True)
    if not sys.stdin.readline():
        raise RuntimeError("the benchmark's parent went away")


def peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def visible_urls(window: Any) -> list[str]:
    """The image URLs of every card that intersects the grid's viewport."""
    area = window.grid.viewport().rect()
    model = window.generations
    urls: list[str] = []
    for row, item in enumerate(model.items()):
        rect = window.grid.visualRect(model.index(row, 0))
        if rect.intersects(area):
            urls.extend(item.images)
        elif urls:
            break  # cards are in rows top to bottom: past the viewport
    return urls


async def _until(condition: Any, what: str) -> None:
    """Poll ``condition`` every few ms (a QTimer-driven loop: Qt events run in between)."""
    deadline = time.monotonic() + PHASE_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {PHASE_TIMEOUT_S:.0f} s")
        await asyncio.sleep(0.003)


async def first_screen(window: Any, controller: Any) -> dict[str, Any]:
    cache, painted = window.cache, paint_probe(window.grid.viewport())
    ready_at: dict[str, float] = {}
    cache.thumbnailReady.connect(lambda url: ready_at.setdefault(url, time.monotonic()))
    t0 = time.monotonic()
    loading = asyncio.ensure_future(controller.start(resume=False))
    urls: list[str] = []

    def complete() -> bool:
        nonlocal urls
        if loading.done() and loading.exception() is not None:
            raise loading.exception()  # type: ignore[misc]
        urls = visible_urls(window)
        return bool(urls) and all(u in ready_at or cache.is_failed(u) for u in urls)

    await _until(complete, "the first screen's thumbnails")
    last = max((ready_at[u] for u in urls if u in ready_at), default=time.monotonic())
    await _until(lambda: any(p > last for p in painted), "the paint after the last thumbnail")
    shown = next(p for p in painted if p > last)
    await loading
    return {
        "first_screen_ms": (shown - t0) * 1000,
        "tiles": len(urls),
        "failed_tiles": sum(cache.is_failed(u) for u in urls),
        "cards": _cards(window, urls),
        "grid_urls": urls,
    }


def _cards(window: Any, urls: list[str]) -> int:
    wanted = set(urls)
    return sum(1 for item in window.generations.items() if wanted & set(item.images))


class CarouselProbe:
    """Times the carousel until the current image's large rendition is painted."""

    def __init__(self, dialog: Any, long_edges: dict[str, int]) -> None:
        self.dialog = dialog
        self.long_edges = long_edges
        self.painted = paint_probe(dialog.canvas)
        self.rss_samples: list[float] = []

    def _large_shown(self, url: str) -> bool:
        self.rss_samples.append(rss_mb())
        if self.dialog.current[2] != url:
            return False
        if self.dialog.cache.is_failed(url):
            raise RuntimeError(f"the carousel could not load {url}")
        pixmap = self.dialog.canvas.pixmap
        wanted = min(LARGE_MIN_EDGE, self.long_edges[url])
        return pixmap is not None and max(pixmap.width(), pixmap.height()) >= wanted

    async def shown(self, url: str, t0: float) -> float:
        """Milliseconds from ``t0`` until ``url``'s large rendition was painted."""
        before = time.monotonic()

        def ready() -> bool:
            nonlocal before
            if self._large_shown(url):
                return True
            before = time.monotonic()  # a paint after this moment shows the large image
            return False

        await _until(ready, "the carousel's large image")
        await _until(lambda: any(p > before for p in self.painted), "the carousel's paint")
        return (next(p for p in self.painted if p > before) - t0) * 1000


async def carousel(controller: Any, plan: dict[str, Any], pages: int) -> dict[str, Any]:
    long_edges = {
        image["url"]: max(image["width"], image["height"])
        for gen in plan["generations"]
        for image in gen["images"]
    }
    four_k = {
        image["url"]
        for gen in plan["generations"]
        if gen["resolution"] == "4K"
        for image in gen["images"]
    }
    entries = controller.window.generations.all_images()
    positions = [n for n, (_i, _x, url) in enumerate(entries) if url in four_k]
    item, index, url = entries[positions[0]]
    t_open = time.monotonic()
    dialog = controller.open_carousel(item.key, index)
    probe = CarouselProbe(dialog, long_edges)
    open_ms = await probe.shown(url, t_open)
    rendition = dialog.canvas.pixmap.size()
    mark("carousel")
    page_ms: list[float] = []
    for position in positions[1 : pages + 1]:
        t0 = time.monotonic()
        dialog.go(position - dialog.position)
        page_ms.append(await probe.shown(entries[position][2], t0))
    rss_paging = max(probe.rss_samples)
    dialog.reject()
    return {
        "carousel_t0": t_open,
        "carousel_ms": open_ms,
        "carousel_rendition": [rendition.width(), rendition.height()],
        "carousel_url": url,
        "page_ms": page_ms,
        "rss_carousel_mb": rss_paging,
    }


async def measure(args: argparse.Namespace, plan: dict[str, Any]) -> dict[str, Any]:
    from gui.app import open_engine
    from gui.engine.config import ClientConfig
    from gui.widgets.controller import WindowController
    from gui.widgets.main_window import MainWindow

    work = Path(args.work)
    config = ClientConfig(
        mode="deployment",
        api_base_url=args.api,
        convex_url=args.api + "/convex",
        static_token=args.token,
        data_dir=work / "client",
    )
    session = await open_engine(config, resume=False)
    fetcher = session.images
    if fetcher is None or not hasattr(fetcher, "fetch_display"):
        raise RuntimeError("the image fetcher has no fetch_display / use_variants switch yet")
    fetcher.use_variants = args.mode == "now"  # the one switch between the two modes
    window = MainWindow(thumb_dir=work / "thumbs")
    window.resize(*WINDOW_SIZE)
    controller = WindowController(window, session)
    window.show()
    await asyncio.sleep(0.5)  # first paints and the engine's /healthz probe, before counting
    rss_before = rss_mb()
    try:
        mark("ready")
        result = await first_screen(window, controller)
        mark("first_screen")
        result |= await carousel(controller, plan, args.pages)
        mark("paging")
    finally:
        window.close()
        await session.close()
    size = window.size()
    return result | {
        "window": [size.width(), size.height()],
        "rss_before_mb": rss_before,
        "rss_peak_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    from gui.widgets import theme

    parser = argparse.ArgumentParser(prog="python -m bench.gallery_window")
    parser.add_argument("--mode", choices=("today", "now"), required=True)
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--plan", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--pages", type=int, default=8)
    args = parser.parse_args(argv)
    app = QApplication([])
    app.setQuitOnLastWindowClosed(False)  # closing the window must not stop the loop
    theme.apply_theme(app, "dark")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    plan = json.loads(Path(args.plan).read_text())
    result = loop.run_until_complete(measure(args, plan))
    emit(result | {"mode": args.mode})
    return 0


if __name__ == "__main__":
    sys.exit(main())
