"""Saving generated images from the grid and the carousel keeps each file's real format."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from gui.widgets.formatting import image_file_name
from gui.widgets.request_state import RequestState
from tests.gui.support import open_window, type_and_generate, until


def test_image_file_name_follows_the_url() -> None:
    assert image_file_name("a", "http://h/files/x/1.jpg") == "a.jpg"
    assert image_file_name("a", "http://h/files/x/1.PNG?sig=1") == "a.png"
    assert image_file_name("a", "http://h/files/x/noext") == "a.png"


def test_download_all_saves_jpeg_outputs_as_jpg_files(run_qasync, tmp_path: Path) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path / "app", resume=False)
        try:
            # Flux 2 Max outputs JPEG.
            state = RequestState(model="img-flux-2-max", num_images=2)
            type_and_generate(window, "a jpeg lighthouse", state)
            model = window.generations
            await until(lambda: model.items()[0].status == "done")
            item = model.items()[0]
            folder = tmp_path / "saved"
            await controller.actions._save_all(item, folder)
            files = sorted(folder.iterdir())
            assert [f.suffix for f in files] == [".jpg", ".jpg"]
            assert {Image.open(f).format for f in files} == {"JPEG"}
            dialog = controller.open_carousel(item.key, 0)
            saved: list[str] = []
            dialog.saveRequested.disconnect()  # no native file dialog in a test
            dialog.saveRequested.connect(lambda _url, name: saved.append(name))
            dialog.trigger("save")
            assert saved and saved[0].endswith(".jpg")
            dialog.reject()
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
