"""Issue 20 through the whole app: the window, its controller and the real embedded backend
(which lists image-variants in /healthz and writes the variants when it stores an output).
The grid and the carousel download variants only; copying the image downloads the original.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication

from catalog import image_variants
from gui.widgets.request_state import RequestState
from tests.gui.support import open_window, type_and_generate, until


def test_the_app_shows_variants_and_fetches_the_original_only_to_copy(
    run_qasync, tmp_path: Path
) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            fetcher = controller.fetcher
            type_and_generate(window, "a lighthouse", RequestState(model="img-nano-banana"))
            model = window.generations
            await until(lambda: model.rowCount() == 1 and model.items()[0].status == "done")
            url = model.items()[0].images[0]
            assert image_variants.has_variants(url)
            await until(lambda: window.cache.peek(url) is not None)
            assert fetcher.use_variants  # learned from the backend's features
            assert not fetcher.knows_no_variants(url)
            assert fetcher.variants.total_bytes > 0
            assert fetcher.originals.total_bytes == 0  # the grid never downloaded it

            dialog = controller.open_carousel(model.items()[0].key, 0)
            await until(lambda: window.cache.lookup(url, image_variants.LARGE_EDGE) is not None)
            assert fetcher.originals.total_bytes == 0  # opening the carousel: the variant

            QGuiApplication.clipboard().clear()
            dialog.trigger("copy_image")
            await until(lambda: not QGuiApplication.clipboard().image().isNull())
            assert fetcher.originals.get(url) is not None  # copying took the original
            dialog.reject()
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
