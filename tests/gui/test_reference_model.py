"""Using a generated image as a reference moves the prompt bar to a model that takes one,
chosen by the catalog (the model's edit variant, else the default model's), never by an
id written into the widget."""

from __future__ import annotations

from pathlib import Path

from catalog import MODELS, Options, edit_variant_for
from gui.engine.settings import default_model_id
from tests.gui.support import open_window, type_and_generate, until


def test_use_as_reference_picks_the_catalogs_edit_variant(run_qasync, tmp_path: Path) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            # Imagen 4 takes no references and has no edit variant of its own.
            type_and_generate(window, "two pears", Options("img-imagen4-preview"))
            model = window.generations
            await until(lambda: model.items()[0].status == "done")
            item = model.items()[0]
            bar = window.prompt_bar

            controller.open_carousel(item.key, 0).trigger("reference")
            fallback = edit_variant_for(default_model_id(), 1)
            assert MODELS[fallback].attachments.max >= 1
            assert bar.state.model == fallback
            assert bar.strip.sources() == (item.images[0],)

            # A base model with a pairing moves to its own edit variant.
            bar.strip.remove(0)
            bar.set_state(Options.defaults("img-seedream-v45"))
            controller.open_carousel(item.key, 0).trigger("reference")
            assert bar.state.model == "img-seedream-v45-edit"
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
