"""Reuse settings restores every option of a generation made in this window."""

from __future__ import annotations

from pathlib import Path

from gui.widgets.request_state import RequestState
from tests.gui.support import open_window, type_and_generate, until


def test_reuse_restores_quality_and_resolution(run_qasync, tmp_path: Path) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            bar = window.prompt_bar
            made = RequestState(
                model="img-nano-banana-pro", aspect_ratio="16:9", num_images=2, resolution="4K"
            )
            type_and_generate(window, "a wide valley", made)
            type_and_generate(
                window, "a tall lamp", RequestState(model="img-gpt-image-1-5", quality="high")
            )
            model = window.generations
            await until(lambda: [i.status for i in model.items()] == ["done", "done"])
            bar.set_state(RequestState(model="img-imagen4-preview"))
            for item in model.items():
                controller.actions.on_action(item.key, "reuse")
                assert bar.text() == item.prompt
                saved = session.settings.load()  # what the next start opens with
                assert (saved.model, saved.quality) == (bar.state.model, bar.state.quality)
                if item.prompt == "a wide valley":
                    assert bar.state == made
                    assert saved.resolution == "4K"
                else:
                    assert (bar.state.model, bar.state.quality) == ("img-gpt-image-1-5", "high")
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
