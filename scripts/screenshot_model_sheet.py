"""Write docs/screenshots/model-sheet.png: the model sheet with a live request preview.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" \\
        python scripts/screenshot_model_sheet.py

The real app as `scripts/screenshots.py` drives it (its helpers are reused): an embedded
backend in a temporary folder, the engine and the window. A Nano Banana Pro Edit request
with two references is composed in the prompt bar, and its "ⓘ" opens the sheet, whose
preview comes from the backend's dry run.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import screenshots as shots
from PySide6.QtWidgets import QApplication

import gui.app
from gui.engine.config import ClientConfig
from gui.widgets.request_state import RequestState

MODEL = "img-nano-banana-pro-edit"


async def scenario(app: QApplication, work: Path) -> None:
    session = await gui.app.open_engine(ClientConfig(data_dir=work / "data"), resume=False)
    try:
        window, controller = await shots.open_window(app, session, work)
        bar = window.prompt_bar
        bar.set_state(RequestState(model=MODEL, aspect_ratio="16:9", num_images=2))
        bar.strip.add_files(shots.reference_images(work)[:2])
        bar.strip.wait_for_thumbnails()
        bar.set_prompt("The white sun of the first picture rising over the sea of the second")
        bar.details_button.click()
        sheet = controller.model_sheet.sheet
        assert sheet is not None
        sheet.resize(1180, 720)
        await shots.until(lambda: sheet.preview is not None)
        await shots.settle(0.5)
        shots.save(sheet, "model-sheet")
        sheet.close()
        window.close()
    finally:
        await session.close()


def main() -> int:
    return shots.run_scenario(scenario)


if __name__ == "__main__":
    sys.exit(main())
