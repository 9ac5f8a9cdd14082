"""What the grid's cards and the carousel ask for: copy, reuse, download, retry, cancel,
favourite, and the carousel's save / use as reference.

Split from the controller (which binds engine events to the window) so each stays small.
Engine and library calls run through the controller's `run` (gui.engine.tasks.spawn).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from catalog import edit_variant_for
from gui.engine.request import EngineRequest
from gui.widgets.carousel import CarouselDialog
from gui.widgets.formatting import image_file_name
from gui.widgets.generation_model import GenerationItem
from gui.widgets.request_state import DEFAULT_MODEL

if TYPE_CHECKING:
    from gui.widgets.controller import WindowController


class GridActions(QObject):
    def __init__(self, controller: WindowController) -> None:
        super().__init__(controller)
        self.c = controller
        self.window = controller.window
        self.carousel: CarouselDialog | None = None
        delegate = self.window.grid.delegate
        delegate.actionTriggered.connect(self.on_action)
        delegate.favoriteToggled.connect(self.toggle_favorite)
        delegate.imageClicked.connect(self.open_carousel)

    def on_action(self, key: str, action: str) -> None:
        item = self.window.generations.get(key)
        if item is None:
            return
        if action == "copy":
            QGuiApplication.clipboard().setText(item.prompt)
            self.window.toasts.success("Prompt copied.")
        elif action == "reuse":
            self.reuse(item)
        elif action == "download":
            self.download_all(item)
        elif action == "retry":
            self.retry(item)
        elif action == "cancel":
            self.cancel(item)

    def reuse(self, item: GenerationItem) -> None:
        bar = self.window.prompt_bar
        bar.set_state(item.options.filled_from(bar.state))
        bar.set_prompt(item.prompt)
        bar.stateChanged.emit(bar.state)  # remembered as the last-used settings
        self.window.toasts.info("Settings and prompt copied into the prompt bar.")

    def cancel(self, item: GenerationItem) -> None:
        """Ask the engine to stop; the tile turns into a cancelled tile on its event."""
        if item.cancellable and item.local_id:
            self.window.generations.set_detail(item.key, "Cancelling…")
            self.c.run(self.c.engine.cancel(item.local_id), "cancelling a generation")

    def retry(self, item: GenerationItem) -> None:
        """Run the tile's request again, in the tile's session: the first generation of a
        new session created it even when it failed, and a retry must not make a second."""
        request = None
        if item.local_id:
            try:
                request = self.c.engine.retry_request(item.local_id)
            except KeyError:
                pass
        if request is None:
            request = EngineRequest(item.prompt, item.options)
        session_id = request.session_id or item.session_id or self.c.current_session
        self.c.submit(dataclasses.replace(request, session_id=session_id))
        self.window.generations.remove(item.key)

    def toggle_favorite(self, key: str, index: int) -> None:
        item = self.window.generations.get(key)
        if item is not None and item.generation_id and index < len(item.images):
            url = item.images[index]
            self.c.run(self._favorite(key, item.generation_id, url), "marking a favourite")

    async def _favorite(self, key: str, generation_id: str, url: str) -> None:
        on = await self.c.library.toggle_favorite(generation_id, url)
        self.window.generations.set_favorite(key, url, on)

    def download_all(self, item: GenerationItem) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Save images to")
        if folder:
            self.c.run(self._save_all(item, Path(folder)), "saving images")

    async def _save_all(self, item: GenerationItem, folder: Path) -> None:
        for i, url in enumerate(item.images, start=1):
            name = image_file_name(f"imagegen-{item.key[:8]}-{i}", url)
            await self.c.fetcher.save_to(url, folder / name)
        self.window.toasts.success(f"Saved {len(item.images)} image(s) to {folder}.")

    # -- carousel ---------------------------------------------------------------------------
    def open_carousel(self, key: str, index: int) -> CarouselDialog:
        entries = self.window.generations.all_images()
        start = next(
            (n for n, (it, i, _u) in enumerate(entries) if it.key == key and i == index), 0
        )
        dialog = CarouselDialog(entries, start, self.window.cache, self.window)
        dialog.saveRequested.connect(self._save_one)
        dialog.useAsReference.connect(self._use_as_reference)
        dialog.reuseSettings.connect(self.reuse)
        dialog.notice.connect(self.window.toasts.show_toast)
        dialog.files_for = self.window.grid.files_for  # drags out carry the original's file
        dialog.set_references(self.c.transfer.references_for([it for it, _i, _u in entries]))
        dialog.resize(self.window.size())
        self.carousel = dialog
        dialog.finished.connect(lambda _r: setattr(self, "carousel", None))
        dialog.open()
        return dialog

    def _save_one(self, url: str, name: str) -> None:
        kind = Path(name).suffix.lstrip(".").upper()
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save image", name, f"{kind} image (*{Path(name).suffix})"
        )
        if path:
            self.c.run(self._save_to(url, Path(path)), "saving an image")

    async def _save_to(self, url: str, path: Path) -> None:
        await self.c.fetcher.save_to(url, path)
        self.window.toasts.success(f"Saved {path.name}.")

    def _use_as_reference(self, url: str) -> None:
        bar = self.window.prompt_bar
        if bar.strip.limit == 0:
            # A model without references: its edit variant (the catalog's pairing), or for a
            # model without one, the default model's.
            variant = edit_variant_for(bar.state.model, 1)
            bar.choose_model(
                variant if variant != bar.state.model else edit_variant_for(DEFAULT_MODEL, 1)
            )
        bar.strip.add_url(url)
