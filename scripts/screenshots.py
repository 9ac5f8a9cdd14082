"""Write real screenshots of the main window states to docs/screenshots/.

    python scripts/screenshots.py            # offscreen (no display needed)
    QT_QPA_PLATFORM=xcb xvfb-run -s "-screen 0 1920x1080x24" python scripts/screenshots.py

It drives the real app: an embedded backend in a temporary folder (the local provider
renders the images), the engine, and the window, exactly as `imagegen` wires them. The
queue is slowed down a little so the loading tiles can be captured.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import qasync  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from PySide6.QtGui import QPainter  # noqa: E402
from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget  # noqa: E402

import gui.app  # noqa: E402
from backend.server import EmbeddedBackend  # noqa: E402
from gui.engine.config import ClientConfig  # noqa: E402
from gui.widgets import theme  # noqa: E402
from gui.widgets.controller import WindowController  # noqa: E402
from gui.widgets.generation_delegate import THUMB_EDGE  # noqa: E402
from gui.widgets.main_window import MainWindow  # noqa: E402
from gui.widgets.request_state import RequestState  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZE = (1400, 900)
# The window at the sizes people use, in both themes (docs/screenshots/sizes/).
SIZES = ((900, 600), (1280, 800), (1920, 1080))


async def until(predicate: Callable[[], bool], limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not reach the expected state in time")
        await asyncio.sleep(0.05)


async def settle(seconds: float = 0.3) -> None:
    """Let layouts, thumbnails and the shimmer catch up before a capture."""
    # Sleeping on the qasync loop runs Qt's event loop (never call processEvents from a
    # coroutine: it would re-enter asyncio from inside the running task).
    await asyncio.sleep(seconds)


def save(widget: QWidget, name: str, overlay: QWidget | None = None) -> None:
    pixmap = widget.grab()
    if overlay is not None and overlay.isVisible():
        # Popups are separate top-level windows: paint them where they sit.
        painter = QPainter(pixmap)
        painter.drawPixmap(widget.mapFromGlobal(overlay.pos()), overlay.grab())
        painter.end()
    path = OUT / f"{name}.png"
    pixmap.save(str(path))
    print(f"wrote {path.relative_to(ROOT)}")


async def save_sizes(window: MainWindow, theme_name: str) -> None:
    """The same screen at each of SIZES, then back to the standard size."""
    for width, height in SIZES:
        window.resize(width, height)
        await settle(0.5)
        save(window, f"sizes/gallery-{theme_name}-{width}x{height}")
    window.resize(*SIZE)
    await settle()


def reference_images(folder: Path) -> list[Path]:
    """A few colourful reference pictures to attach."""
    paths = []
    palettes = [("#ff7a59", "#ffd166"), ("#3a86ff", "#8338ec"), ("#06d6a0", "#118ab2")]
    for i, (a, b) in enumerate(palettes, start=1):
        image = Image.new("RGB", (600, 450), a)
        draw = ImageDraw.Draw(image)
        for y in range(450):
            t = y / 450
            ca = tuple(
                int(int(a[k : k + 2], 16) * (1 - t) + int(b[k : k + 2], 16) * t) for k in (1, 3, 5)
            )
            draw.line([(0, y), (600, y)], fill=ca)
        draw.ellipse((200, 120, 400, 320), fill="white")
        path = folder / f"reference-{i}.png"
        image.save(path)
        paths.append(path)
    return paths


def images_loaded(window: MainWindow) -> bool:
    urls = [u for item in window.generations.items() for u in item.images]
    # get() also starts loading rows that are scrolled out of view (never painted yet).
    return all(
        window.cache.get(u, THUMB_EDGE) is not None or window.cache.is_failed(u) for u in urls
    )


def generate(window: MainWindow, prompt: str, state: RequestState) -> None:
    bar = window.prompt_bar
    bar.set_state(state)
    bar.set_prompt(prompt)
    bar.generate_button.click()


async def scenario(app: QApplication, work: Path) -> None:
    session = await gui.app.open_engine(ClientConfig(data_dir=work / "data"), resume=False)
    try:
        theme.apply_theme(app, "dark")
        window = MainWindow(thumb_dir=work / "thumbs")
        window.resize(*SIZE)
        window.show()
        controller = WindowController(window, session)
        await controller.start()
        await until(lambda: window.header.credits.text() != "— credits")
        await settle()
        save(window, "empty-state")

        generate(
            window,
            "A lighthouse on a cliff at dawn, volumetric light, cinematic",
            RequestState(model="img-flux-2-max", aspect_ratio="16:9", num_images=3),
        )
        generate(
            window,
            "[fail] a photo that the provider refuses",
            RequestState(model="img-reve"),
        )
        generate(
            window,
            "Watercolor fox in a snowy birch forest",
            RequestState(model="img-nano-banana-pro", aspect_ratio="3:4", num_images=4),
        )
        model = window.generations
        await until(lambda: all(not i.loading for i in model.items()))
        await until(lambda: images_loaded(window))
        fox = model.items()[0]
        controller.actions.toggle_favorite(fox.key, 1)
        await until(lambda: bool(model.items()[0].favorites))
        window.toasts.clear()  # the [fail] toast would cover the first card's actions
        await settle()
        save(window, "gallery")
        await save_sizes(window, "dark")

        generate(
            window,
            "Isometric cozy reading nook, warm lamp light, soft shadows",
            RequestState(model="img-seedream-v45", num_images=4),
        )
        await until(lambda: model.items()[0].detail.startswith(("In queue", "Generating")))
        window.toasts.clear()
        await settle(0.5)
        save(window, "generating")
        await until(lambda: not model.items()[0].loading)
        await until(lambda: images_loaded(window))

        window.prompt_bar.open_picker()
        await settle()
        save(window, "model-picker", overlay=window.prompt_bar.picker)
        window.prompt_bar.picker.hide()

        bar = window.prompt_bar
        bar.choose_model("img-kling-o1")
        bar.strip.add_files(reference_images(work))
        bar.strip.wait_for_thumbnails()
        bar.set_prompt("Place the sun from @Image1 above the sea in @Image2, lit like @Image3")
        await settle()
        save(window, "edit-with-attachments")

        fail_row = next(r for r, i in enumerate(model.items()) if i.status == "error")
        window.grid.scrollTo(model.index(fail_row), QAbstractItemView.ScrollHint.PositionAtTop)
        await settle()
        save(window, "error-tile")
        window.grid.scrollToTop()

        first = model.items()[1]
        dialog = controller.open_carousel(first.key, 0)
        await until(lambda: dialog.canvas.pixmap is not None)
        await until(lambda: window.cache.get(first.images[0], 2048) is not None)
        await settle()
        save(dialog, "carousel")
        dialog.reject()

        settings = controller.settings.open()
        settings.deployment.setChecked(True)
        settings.api_url.setText("https://images.example.com")
        settings.convex_url.setText("https://happy-otter-123.convex.cloud")
        settings.clerk_url.setText("https://clerk.images.example.com")
        await settle()
        save(settings, "settings")  # Continue with Google / Apple / email
        settings.email.setText("ada@example.com")
        settings.sign_in.email_button.click()
        await settle()
        save(settings, "settings-email")
        settings.reject()

        window.close()
        theme.apply_theme(app, "light")
        light = MainWindow(thumb_dir=work / "thumbs")
        light.resize(*SIZE)
        light.show()
        light_controller = WindowController(light, session)
        await light_controller.start(resume=False)
        await until(lambda: light.generations.rowCount() > 0, 20)
        await until(lambda: images_loaded(light), 20)
        await settle()
        save(light, "gallery-light")
        await save_sizes(light, "light")
        light.close()
    finally:
        await session.close()


async def open_window(
    app: QApplication, session: gui.app.EngineSession, work: Path, mode: str = "dark"
) -> tuple[MainWindow, WindowController]:
    """The real window on ``session``, themed, at SIZE, shown and loaded."""
    theme.apply_theme(app, mode)
    window = MainWindow(thumb_dir=work / "thumbs")
    window.resize(*SIZE)
    window.show()
    controller = WindowController(window, session)
    await controller.start()
    return window, controller


def run_scenario(
    scenario: Callable[[QApplication, Path], Awaitable[None]],
    *,
    queue_s: float | None = None,
) -> int:
    """Run one screenshot scenario on the real app, under a qasync loop, in a temporary
    folder. ``queue_s`` slows the embedded backend's simulated queue (and run) to that many
    seconds, so loading tiles stay on screen long enough to be captured."""
    (OUT / "sizes").mkdir(parents=True, exist_ok=True)
    if queue_s is not None:
        gui.app.start_embedded_backend = lambda data_dir, **kw: EmbeddedBackend(  # type: ignore[assignment]
            Path(data_dir), local_queue_s=queue_s, local_run_s=queue_s, **kw
        ).start()
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with tempfile.TemporaryDirectory(prefix="imagegen-shots-") as work:
            loop.run_until_complete(scenario(app, Path(work)))
    finally:
        loop.close()  # stops the loop's worker threads, as the app does on exit
    return 0


def main() -> int:
    return run_scenario(scenario, queue_s=1.5)


if __name__ == "__main__":
    sys.exit(main())
