"""Grid at scale: a session of 10,000 generations (40,000 images) in the real window.

The MainWindow (offscreen, 1320x860) gets the records straight into its GenerationListModel,
as the controller does when a session loads. Images are locally stored PNGs rendered by the
local provider (a pool of 24, each image with its own URL so every thumbnail is decoded on
its own); the thumbnail cache's fetch reads them from disk. Measured: records handed to the
model -> first paint finished; resident memory after scrolling; the time of each frame while
scrolling at ~36 cards per second and jumping to random places, paced at 60 fps.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import Result, percentile, rss_mb
from bench.qt_probe import emit, paint_probe, run_child
from gui.engine.convex_types import SessionGeneration

POOL_DIR = Path(tempfile.gettempdir()) / "imagegen-bench-grid"
POOL_SIZE = 24
FRAME_S = 1 / 60
MODEL = "img-nano-banana"


def image_pool() -> list[Path]:
    from backend.providers.local_render import render_image
    from catalog import MODELS

    POOL_DIR.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(POOL_SIZE):
        path = POOL_DIR / f"image-{i}.png"
        if not path.exists():
            data = render_image(
                prompt=f"grid image {i}",
                model=MODELS[MODEL],
                width=1024,
                height=1024,
                index=1,
                total=1,
                params={"aspect_ratio": "1:1"},
            )
            path.write_bytes(data)
        paths.append(path)
    return paths


def records(count: int, per: int) -> list[SessionGeneration]:
    """A session's generations as the gateway hands them over (parsed from Convex documents)."""
    now_ms = time.time() * 1000
    docs = [
        {
            "_id": f"gen{i}",
            "prompt": f"Generation {i}: a quiet harbour at dawn, film grain, soft light",
            "model": MODEL,
            "modelLabel": "Nano Banana",
            "aspectRatio": "1:1",
            "numImages": per,
            "images": [{"url": f"http://bench.local/files/g{i}-{j}.png"} for j in range(per)],
            "isLoading": False,
            "createdAt": now_ms - i * 60_000,
            "completedAt": now_ms - i * 60_000 + 9_000,
        }
        for i in range(count)
    ]
    return [SessionGeneration.model_validate(doc) for doc in docs]


def _wait_paint(app: Any, painted: list[float], after: float, limit_s: float = 30.0) -> float:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        app.processEvents()
        for t in painted:
            if t > after:
                return t
    raise TimeoutError("the grid never painted")


def _scroll(app: Any, grid: Any, painted: list[float], frames: int, jumps: int) -> list[float]:
    """Frame times while scrolling, paced at 60 fps like a display's ticks.

    Each frame starts at its tick: the scroll position changes and the event loop runs until
    the viewport has painted. Between ticks the loop keeps processing events (decoded
    thumbnails arrive then). A frame's time runs from its tick to the end of its paint, so
    work between ticks that overruns the next tick counts against the next frame.
    """
    bar = grid.verticalScrollBar()
    rng = random.Random(8)
    frame_ms: list[float] = []
    tick = time.monotonic()
    for i in range(frames + jumps):
        while time.monotonic() < tick:
            app.processEvents()
            time.sleep(0.0005)
        seen = len(painted)
        if i < frames:
            bar.setValue(bar.value() + 150)  # ~30 cards a second at 60 fps
        else:
            bar.setValue(rng.randrange(bar.maximum() + 1))
        while len(painted) == seen:
            app.processEvents()
        done = time.monotonic()
        frame_ms.append((done - tick) * 1000)
        tick = max(tick + FRAME_S, done)
    return frame_ms


def child(smoke: bool) -> None:
    from PySide6.QtCore import QThreadPool
    from PySide6.QtWidgets import QApplication

    from gui.widgets import theme
    from gui.widgets.main_window import MainWindow

    count, per, frames, jumps = (300, 4, 30, 10) if smoke else (10_000, 4, 300, 100)
    pool = image_pool()
    app = QApplication([])
    theme.apply_theme(app, "dark")
    with tempfile.TemporaryDirectory(prefix="bench-grid-", ignore_cleanup_errors=True) as tmp:
        window = MainWindow(thumb_dir=Path(tmp) / "thumbs")
        cache = window.cache

        def fetch(url: str, edge: int) -> None:
            # ".../g{i}-{j}.png" -> one of the pool's files
            i, j = url.rsplit("/", 1)[1][1:-4].split("-")
            cache.deliver(url, edge, pool[(int(i) * 7 + int(j)) % len(pool)].read_bytes())

        cache.fetch = fetch
        window.show()
        viewport = window.grid.viewport()
        painted = paint_probe(viewport)
        _wait_paint(app, painted, 0.0)
        data = records(count, per)
        rss_before = rss_mb()

        t0 = time.monotonic()
        window.generations.set_records(data)
        first_paint_ms = (_wait_paint(app, painted, t0) - t0) * 1000

        # Thumbnails of the first screen: decoded off the GUI thread, then painted.
        ready: list[float] = []
        cache.thumbnailReady.connect(lambda _u: ready.append(time.monotonic()))
        deadline = time.monotonic() + 20
        while len(ready) < 8 and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.001)
        thumbs_ms = (ready[-1] - t0) * 1000 if ready else float("nan")

        frame_ms = _scroll(app, window.grid, painted, frames, jumps)
        rss_after = rss_mb()
        window.close()
        QThreadPool.globalInstance().waitForDone()  # decoders still writing the disk cache
        app.processEvents()
    emit(
        {
            "count": count,
            "images": count * per,
            "first_paint_ms": first_paint_ms,
            "thumbs_ms": thumbs_ms,
            "frame_ms": frame_ms,
            "rss_before": rss_before,
            "rss_after": rss_after,
            "rss_peak": _peak_mb(),
            "cache_mb": cache.used_bytes / 2**20,
        }
    )


def _peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(smoke: bool = False) -> list[Result]:
    r = run_child("bench.bench_grid", *(["--smoke"] if smoke else []))
    label = f"{r['count']:,} generations / {r['images']:,} images"
    p95 = percentile(r["frame_ms"], 95)
    return [
        Result(
            name=f"Grid first paint ({label})",
            ours=r["first_paint_ms"],
            reference=None,
            unit="ms",
            target="<= 500 ms",
            passed=r["first_paint_ms"] <= 500,
            note=f"first screen of thumbnails after {r['thumbs_ms']:.0f} ms",
        ),
        Result(
            name="Grid resident memory after scrolling",
            ours=r["rss_peak"],
            reference=None,
            unit="MiB",
            target="<= 400 MiB",
            passed=r["rss_peak"] <= 400,
            note=f"peak; {r['rss_before']:.0f} MiB before the records, {r['rss_after']:.0f} "
            f"after scrolling, thumbnail cache {r['cache_mb']:.0f} MiB",
        ),
        Result(
            name="Grid scroll frame time p95",
            ours=p95,
            reference=None,
            unit="ms",
            target="<= 16 ms",
            passed=p95 <= 16,
            note=f"{len(r['frame_ms'])} frames (scrolling + jumps); max "
            f"{max(r['frame_ms']):.1f} ms",
        ),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.smoke)
