"""Images leaving the app: the files a drag out carries, and the grid's Ctrl+C (the
original image) and Ctrl+Shift+C (its URL).

A helper of the controller, like grid_actions: it is the one that asks the engine (the
session's image fetcher, through gui.engine.exports) for originals, so the grid and the
carousel only say which images they drag or copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QObject
from PySide6.QtGui import QGuiApplication, QImage

from gui.engine.exports import ImageExporter
from gui.widgets.drag_out import DraggedImage
from gui.widgets.generation_model import GenerationItem

if TYPE_CHECKING:
    from gui.widgets.controller import WindowController


class ImageTransfer(QObject):
    def __init__(self, controller: WindowController) -> None:
        super().__init__(controller)
        self.c = controller
        self.window = controller.window
        # In the app's own cache folder, beside the images it copies them from.
        folder = Path(controller.session.config.data_dir) / "cache" / "drag-out"
        self.exporter = ImageExporter(controller.fetcher, folder)
        grid = self.window.grid
        grid.files_for = self.files_for
        grid.copyImageRequested.connect(self.copy_image)
        grid.copyUrlRequested.connect(self.copy_urls)
        controller.run(asyncio.to_thread(self.exporter.prune), "clearing old dragged files")

    def files_for(self, images: Sequence[DraggedImage]) -> list[Path]:
        """The local file of each image's original: copied now from the engine's cache, or
        fetched and written while the drag is under way (the drop reads it at the end)."""
        paths = []
        for image in images:
            target = self.exporter.target(image.url, image.prompt, image.number)
            if not self.exporter.export_cached(image.url, target):
                self.c.run(self.exporter.export(image.url, target), "preparing a dragged image")
            paths.append(target)
        return paths

    def copy_image(self, url: str) -> None:
        self.window.toasts.info("Copying the full-size image…")
        self.c.run(self._copy_image(url), "copying an image")

    async def _copy_image(self, url: str) -> None:
        data = await self.c.fetcher.fetch(url)  # the original, from the cache when there
        image = await asyncio.to_thread(QImage.fromData, data)
        if image.isNull():
            self.window.toasts.error("This image could not be read, so nothing was copied.")
            return
        mime = QMimeData()
        mime.setImageData(image)
        QGuiApplication.clipboard().setMimeData(mime)
        self.window.toasts.success("Image copied to the clipboard.")

    def copy_urls(self, urls: list[str]) -> None:
        QGuiApplication.clipboard().setText("\n".join(urls))
        self.window.toasts.success("Image URL copied." if len(urls) == 1 else "Image URLs copied.")

    def references_for(self, items: Sequence[GenerationItem]) -> dict[str, tuple[str, ...]]:
        """Each edit's reference URLs, by its row key (for the carousel's before / after)."""
        store = self.c.session.references
        if store is None:
            return {}
        found = store.lookup(
            i for it in items for i in (it.key, it.generation_id, it.local_id) if i
        )
        out: dict[str, tuple[str, ...]] = {}
        for item in items:
            for name in (item.key, item.generation_id, item.local_id):
                if name and name in found:
                    out[item.key] = found[name]
                    break
        return out
