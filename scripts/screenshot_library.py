"""Write the Library's screenshots to docs/screenshots/ (issue 17, part 1).

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshot_library.py

The real app on an embedded backend in a temporary folder: a few sessions generated
through the prompt bar, two images marked favourite from the grid, then the Library
searched as a user types, its Favourites, and the sidebar's filter with a deletion's Undo.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import screenshots as shots
from PySide6.QtWidgets import QApplication

import gui.app
from gui.engine.config import ClientConfig
from gui.widgets.controller import WindowController
from gui.widgets.main_window import MainWindow
from gui.widgets.request_state import RequestState

SESSIONS = (
    ("img-flux-2-max", ["A red fox in fresh snow, golden hour", "A fox cub asleep in moss"]),
    ("img-hunyuan-v3", ["A lighthouse on a cliff at dawn", "A harbour at night, neon reflections"]),
    ("img-nano-banana", ["A blue whale under the northern lights", "A paper boat on a puddle"]),
)


async def _generate_all(window: MainWindow, controller: WindowController) -> None:
    for model, prompts in SESSIONS:
        window.sidebar.new_button.click()
        for prompt in prompts:
            shots.generate(window, prompt, RequestState(model=model))
            await shots.until(lambda: all(i.status == "done" for i in window.generations.items()))
        items = window.generations.items()
        controller.actions.toggle_favorite(items[0].key, 0)  # the newest of each session
        await shots.until(lambda: bool(window.generations.items()[0].favorites))


async def scenario(app: QApplication, work: Path) -> None:
    session = await gui.app.open_engine(ClientConfig(data_dir=work / "data"), resume=False)
    try:
        window, controller = await shots.open_window(app, session, work)
        await _generate_all(window, controller)

        dialog = controller.library_actions.open_library()
        dialog.move(window.geometry().center() - dialog.rect().center())
        await shots.until(lambda: dialog.loaded)
        dialog.search.setText("fox")
        await shots.until(lambda: shots.images_loaded(window))
        await shots.settle(1.0)
        shots.save(window, "library-search", overlay=dialog)
        dialog.search.clear()
        dialog.favorites_button.click()
        await shots.settle(1.0)
        shots.save(window, "library-favourites", overlay=dialog)
        dialog.close()

        window.sidebar.tools.filter.setText("light")  # the lighthouse and the whale
        first = window.sidebar.session_ids()[0]
        controller.library_actions.delete(first)
        await shots.until(lambda: first not in window.sidebar.session_ids())
        await shots.settle(0.8)
        shots.save(window, "library-sidebar-undo")
        controller.library_actions.undo(first)
        await shots.settle(0.3)
        window.close()
    finally:
        await session.close()


def main() -> int:
    return shots.run_scenario(scenario, queue_s=0.2)


if __name__ == "__main__":
    sys.exit(main())
