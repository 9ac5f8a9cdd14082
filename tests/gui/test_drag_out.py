"""Issue 17 part 4: images leave the app as real files, and Ctrl+C / Ctrl+Shift+C copy them.

Against the real embedded backend on 127.0.0.1: the files a drag carries are the originals
(byte for byte, at full resolution) named from the prompt; several cards selected drag
all their images; a drop on the prompt bar is still a reference.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gui.widgets import grid_selection
from gui.widgets.attachment_strip import URL_MIME
from gui.widgets.drag_out import drag_mime
from gui.widgets.generation_delegate import card_layout
from gui.widgets.main_window import MainWindow
from gui.widgets.request_state import RequestState
from tests.gui.support import open_window, type_and_generate, until


def _image_point(window: MainWindow, row: int, image: int) -> QPoint:
    grid = window.grid
    index = window.generations.index(row, 0)
    item = window.generations.items()[row]
    return card_layout(grid.visualRect(index), item).tiles[image].center()


def _drag(window: MainWindow, start: QPoint) -> None:
    """Press on ``start`` and move past the drag distance (offscreen, QDrag.exec returns
    at once: what the drag carried is the files it had written). No release: a real drag
    consumes it, so the view never sees it."""
    viewport = window.grid.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    step = QApplication.startDragDistance() + 4
    QTest.mouseMove(viewport, start + QPoint(step, step))


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_drag_copy_and_select_against_the_embedded_backend(run_qasync, tmp_path: Path) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path)
        out = tmp_path / "cache" / "drag-out"
        try:
            type_and_generate(
                window,
                "A red fox / in the snow: *dusk*",
                RequestState("img-nano-banana", num_images=2),
            )
            await until(lambda: window.generations.items()[0].status == "done")
            type_and_generate(window, "a blue whale", RequestState("img-nano-banana"))
            await until(lambda: window.generations.rowCount() == 2)
            await until(lambda: window.generations.items()[0].status == "done")
            whale, fox = window.generations.items()
            await until(lambda: window.cache.peek(fox.images[1]) is not None)

            # One image dragged: its original, named from the prompt in safe characters.
            _drag(window, _image_point(window, 1, 1))
            await until(lambda: len(_files(out)) == 1)
            (dragged,) = _files(out)
            assert dragged.name == "a-red-fox-in-the-snow-dusk-2.png"
            original = await controller.fetcher.fetch(fox.images[1])
            await until(lambda: dragged.read_bytes() == original)
            with Image.open(dragged) as img, Image.open(io.BytesIO(original)) as src:
                assert img.size == src.size and img.size[0] >= 1024

            # Click one card, Ctrl+click the other: a drag from a selected card carries all
            # three images.
            viewport = window.grid.viewport()
            ctrl = Qt.KeyboardModifier.ControlModifier
            for row, keys in ((1, Qt.KeyboardModifier.NoModifier), (0, ctrl)):
                point = window.grid.visualRect(window.generations.index(row, 0)).topLeft()
                QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, keys, point + QPoint(30, 30))
            assert len(grid_selection.selected_items(window.grid)) == 2
            _drag(window, _image_point(window, 0, 0))
            await until(lambda: len(_files(out)) == 3)
            assert {p.name for p in _files(out)} == {
                "a-blue-whale.png",
                "a-red-fox-in-the-snow-dusk-1.png",
                "a-red-fox-in-the-snow-dusk-2.png",
            }

            # What the drag carries: the files, the image, and the URL a drop on the
            # prompt bar still takes as a reference.
            images = grid_selection.images_of([whale])
            mime = drag_mime(images, window.grid.files_for(images))
            assert [u.toLocalFile() for u in mime.urls()] == [
                str(p) for p in _files(out) if p.name == "a-blue-whale.png"
            ]
            assert bytes(mime.data(URL_MIME).data()).decode() == whale.images[0]
            assert not mime.imageData().isNull()
            window.prompt_bar.set_state(RequestState("img-nano-banana"))
            assert window.prompt_bar.strip.add_mime(mime) == 1
            assert window.prompt_bar.strip.sources() == (whale.images[0],)

            # Ctrl+Shift+C: the URLs of the selection; Ctrl+C: the original image.
            window.grid.setFocus()
            QTest.keyClick(window.grid, Qt.Key.Key_C, ctrl | Qt.KeyboardModifier.ShiftModifier)
            assert QGuiApplication.clipboard().text().splitlines() == [*whale.images, *fox.images]
            QGuiApplication.clipboard().clear()
            QTest.keyClick(window.grid, Qt.Key.Key_C, ctrl)
            await until(lambda: not QGuiApplication.clipboard().image().isNull())
            with Image.open(io.BytesIO(await controller.fetcher.fetch(whale.images[0]))) as src:
                assert QGuiApplication.clipboard().image().width() == src.size[0]
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)


def test_carousel_copies_and_drags_out(run_qasync, tmp_path: Path) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path)
        try:
            type_and_generate(window, "lighthouse at night", RequestState("img-nano-banana"))
            await until(lambda: window.generations.items()[0].status == "done")
            item = window.generations.items()[0]
            dialog = controller.open_carousel(item.key, 0)
            await until(lambda: dialog.canvas.pixmap is not None)
            ctrl = Qt.KeyboardModifier.ControlModifier
            QTest.keyClick(dialog, Qt.Key.Key_C, ctrl | Qt.KeyboardModifier.ShiftModifier)
            assert QGuiApplication.clipboard().text() == item.images[0]
            QTest.keyClick(dialog, Qt.Key.Key_C, ctrl)
            await until(lambda: not QGuiApplication.clipboard().image().isNull())

            # Dragging the fitted image writes its original, named from the prompt.
            canvas = dialog.canvas
            centre = canvas.rect().center()
            QTest.mousePress(
                canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre
            )
            QTest.mouseMove(canvas, centre + QPoint(20, 20))
            QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton)
            out = tmp_path / "cache" / "drag-out"
            await until(lambda: [p.name for p in _files(out)] == ["lighthouse-at-night.png"])
            assert _files(out)[0].read_bytes() == await controller.fetcher.fetch(item.images[0])
            dialog.reject()
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
