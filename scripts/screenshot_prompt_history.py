"""Write docs/screenshots/prompt-history.png: earlier prompts, searched from the prompt bar.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" \
        python scripts/screenshot_prompt_history.py

Drives the real app as scripts/screenshots.py does (embedded backend, engine, window): a
few generations in two sessions, then the history menu (Ctrl+H) filtered by a word.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the project, for `gui` and `backend`

from PySide6.QtWidgets import QApplication  # noqa: E402

import gui.app  # noqa: E402
from gui.engine.config import ClientConfig  # noqa: E402
from gui.widgets.request_state import RequestState  # noqa: E402
from scripts.screenshots import (  # noqa: E402
    generate,
    images_loaded,
    open_window,
    run_scenario,
    save,
    settle,
    until,
)

PROMPTS = (
    "Watercolor fox in a snowy birch forest",
    "A lighthouse on a cliff at dawn, volumetric light, cinematic",
    "Isometric cozy reading nook, warm lamp light, soft shadows",
    "Red fox cub asleep in autumn leaves, macro photo",
)


async def scenario(app: QApplication, work: Path) -> None:
    session = await gui.app.open_engine(ClientConfig(data_dir=work / "data"), resume=False)
    try:
        window, controller = await open_window(app, session, work)
        model = window.generations
        for n, prompt in enumerate(PROMPTS):
            if n == 2:
                controller.new_session()  # the history spans sessions
            generate(window, prompt, RequestState(model="img-reve"))
            await until(lambda: all(not i.loading for i in model.items()))
        await until(lambda: images_loaded(window))
        bar = window.prompt_bar
        bar.prompt.clear()
        bar.history.open_menu()
        bar.history.menu.search.setText("fox")
        await settle(0.5)
        save(window, "prompt-history", overlay=bar.history.menu)
        bar.history.menu.close()
        window.close()
    finally:
        await session.close()


def main() -> int:
    return run_scenario(scenario, queue_s=0.3)


if __name__ == "__main__":
    sys.exit(main())
