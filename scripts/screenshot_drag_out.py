"""Write the drag-out and before-and-after screenshots to docs/screenshots/ (issue 17,
parts 4 and 5).

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" \
        python scripts/screenshot_drag_out.py

The real app on an embedded backend in a temporary folder: a generation and two edits
made through the prompt bar (one reference, then two), two cards selected in the grid as
a drag or Ctrl+C would take them, and the carousel's before / after wipe and references.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import screenshots as shots
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QApplication

import gui.app
from gui.engine.config import ClientConfig
from gui.widgets.before_after import SLIDER_STEPS
from gui.widgets.main_window import MainWindow
from gui.widgets.request_state import RequestState


async def _edit(window: MainWindow, prompt: str, refs: list[Path]) -> None:
    bar = window.prompt_bar
    bar.set_state(RequestState(model="img-nano-banana-edit"))
    while bar.strip.rows():
        bar.strip.remove(0)
    bar.strip.add_files(refs)
    bar.set_prompt(prompt)
    bar.generate_button.click()
    await shots.until(lambda: all(i.status == "done" for i in window.generations.items()))


async def scenario(app: QApplication, work: Path) -> None:
    session = await gui.app.open_engine(ClientConfig(data_dir=work / "data"), resume=False)
    try:
        window, controller = await shots.open_window(app, session, work)
        refs = shots.reference_images(work)
        shots.generate(
            window,
            "A lighthouse on a cliff at dawn, volumetric light",
            RequestState(model="img-flux-2-max", aspect_ratio="16:9", num_images=2),
        )
        await shots.until(lambda: all(i.status == "done" for i in window.generations.items()))
        await _edit(window, "Turn the sun into a glowing moon over the sea", refs[:1])
        await _edit(window, "Blend both skies into one sunset", refs[1:3])
        await shots.until(lambda: shots.images_loaded(window))
        window.toasts.clear()

        # Two cards selected: a drag from either carries all their images as files.
        grid = window.grid
        model = window.generations
        grid.setFocus()
        for row in (0, 1):
            grid.selectionModel().select(model.index(row), QItemSelectionModel.SelectionFlag.Select)
        grid.scrollToTop()
        window.toasts.success("Image URLs copied.")
        await shots.settle(0.8)
        shots.save(window, "drag-out-selection")
        window.toasts.clear()

        one = model.items()[1]
        dialog = controller.open_carousel(one.key, 0)
        panel = dialog.before_after
        await shots.until(lambda: panel.wipe.before is not None and panel.wipe.after is not None)
        # The reference at full size (600 x 450), not the grid's thumbnail of it.
        await shots.until(
            lambda: panel.wipe.before is not None and panel.wipe.before.width() == 600
        )
        panel.slider.setValue(SLIDER_STEPS * 45 // 100)
        await shots.settle(0.8)
        shots.save(dialog, "before-after")
        dialog.go(-1)  # the two-reference edit
        await shots.until(lambda: all(t.pixmap() is not None for t in panel.column.thumbs))
        await shots.settle(1.0)
        shots.save(dialog, "before-after-references")
        dialog.reject()
        window.close()
    finally:
        await session.close()


def main() -> int:
    return shots.run_scenario(scenario, queue_s=0.3)


if __name__ == "__main__":
    sys.exit(main())
