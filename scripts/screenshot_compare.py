"""Write docs/screenshots/compare-*.png: one prompt sent to several models at once.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshot_compare.py

Drives the real app as scripts/screenshots.py does (embedded backend, engine, window): the
Compare chip's picker with models ticked, the comparison's rows in the grid at 1400x900
and 900x600 (the smallest window the app is laid out for), and the side-by-side view a
row's "Compare n/m" pill opens.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtWidgets import QApplication

import gui.app
from gui.engine.config import ClientConfig
from gui.widgets.request_state import RequestState
from scripts.screenshots import images_loaded, open_window, run_scenario, save, settle, until

COMPARED = ("img-nano-banana-pro", "img-flux-2-max", "img-seedream-v45", "img-kling-o1")
PROMPT = "A lighthouse on a cliff at dawn, volumetric light, cinematic"


async def scenario(app: QApplication, work: Path) -> None:
    session = await gui.app.open_engine(ClientConfig(data_dir=work / "data"), resume=False)
    try:
        window, controller = await open_window(app, session, work)
        await until(lambda: window.header.credits.text() != "— credits")
        bar = window.prompt_bar
        bar.set_state(RequestState(model=COMPARED[0], aspect_ratio="16:9"))
        bar.set_prompt(PROMPT)
        bar.compare.chip.click()
        for model_id in COMPARED[1:]:
            picker = bar.compare.picker
            picker.toggle_row(picker.list_model.model_ids().index(model_id))
        await settle()
        save(window, "compare-picker", overlay=bar.compare.picker)
        bar.compare.picker.hide()
        await settle()
        bar.generate_button.click()
        model = window.generations
        await until(lambda: model.rowCount() == 3)
        await until(lambda: all(not i.loading for i in model.items()))
        await until(lambda: images_loaded(window))
        window.toasts.clear()
        bar.set_prompt(PROMPT)
        await settle()
        save(window, "compare-models")
        window.resize(900, 600)
        await settle(0.6)
        save(window, "compare-models-900x600")
        view = controller.compare.open_view(controller.compare.mark_for(model.items()[0]).group_id)
        await settle(0.8)
        save(view, "compare-side-by-side-900x600")
        view.reject()
        window.close()
    finally:
        await session.close()


def main() -> int:
    return run_scenario(scenario, queue_s=0.3)


if __name__ == "__main__":
    sys.exit(main())
