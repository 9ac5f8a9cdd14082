"""The model sheet: the catalog's facts and the request preview, through the real window,
engine and embedded backend on 127.0.0.1 (the dry run calls no provider, holds nothing)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication

from catalog import MODELS, validate
from catalog.pricing import price_table
from gui.engine.model_facts import model_facts
from gui.engine.preview import RequestPreview
from gui.widgets.model_sheet import ModelSheet
from gui.widgets.request_state import RequestState
from tests.gui.support import open_window, shown_prompt_bar, until

PRO = "img-nano-banana-pro"
PRO_EDIT = "img-nano-banana-pro-edit"


def test_the_sheet_shows_everything_the_catalog_knows(qtbot) -> None:
    sheet = ModelSheet()
    qtbot.addWidget(sheet)
    sheet.show_facts(model_facts(PRO))
    spec = MODELS[PRO]
    assert sheet.title.text() == spec.label
    assert sheet.fact("Provider") == "fal"
    assert sheet.fact("Endpoint") == spec.endpoint
    assert sheet.fact("Call").startswith("Queued" if spec.call_type == "queued" else "Sync")
    assert sheet.fact("Resolutions") == ", ".join(spec.resolutions)
    assert sheet.fact("Aspect ratios") == ", ".join(spec.aspect_ratios)
    assert sheet.fact("Images") == f"1 to {spec.max_images}"
    assert sheet.fact("References") == "None (text to image)"
    prices = price_table(PRO)
    assert sheet.prices.rowCount() == len(prices) > 1
    shown = {sheet.prices.item(r, 0).text(): sheet.prices.item(r, 1).text() for r in range(3)}
    assert shown == {p.resolution: f"{p.cost_per_image:g}" for p in prices}
    # A model whose reference count picks the endpoint lists each mode.
    sheet.show_facts(model_facts("img-reve-edit"))
    assert "edit: 1 (fal-ai/reve/edit)" in sheet.fact("References")
    assert "remix: 2 to 6 (fal-ai/reve/remix)" in sheet.fact("References")
    assert sheet.fact("Resolutions") == "—"


def test_copy_buttons_put_the_request_and_the_command_on_the_clipboard(qtbot) -> None:
    sheet = ModelSheet()
    qtbot.addWidget(sheet)
    assert not sheet.copy_json_button.isEnabled()  # nothing to copy yet
    preview = RequestPreview(
        "fal", "fal-ai/x", "POST", "https://queue.fal.run/fal-ai/x", "application/json",
        {"prompt": "a cat", "num_images": 2}, 1, ("a note",),
    )  # fmt: skip
    sheet.show_preview(preview, "imagegen generate --model m --prompt 'a cat'")
    sheet.copy_json_button.click()
    copied = json.loads(QGuiApplication.clipboard().text())
    assert copied["url"] == preview.url and copied["body"] == preview.body
    sheet.copy_command_button.click()
    assert QGuiApplication.clipboard().text() == "imagegen generate --model m --prompt 'a cat'"
    sheet.show_refusal("Nope, said the server.", "imagegen generate")
    assert (
        sheet.target.text() == "Nope, said the server." and not sheet.copy_json_button.isEnabled()
    )


def test_the_bar_button_and_the_picker_ask_for_a_models_sheet(qtbot) -> None:
    bar = shown_prompt_bar(qtbot, model=PRO)
    asked: list[str] = []
    bar.modelDetailsRequested.connect(asked.append)
    # A drawn icon, not the "ⓘ" character many fonts lack (it showed as a tofu box).
    assert not bar.details_button.icon().isNull()
    assert bar.details_button.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly
    bar.details_button.click()
    assert asked == [PRO]
    bar.open_picker()
    picker = bar.picker
    qtbot.keyClicks(picker.search, "Reve Edit")
    qtbot.keyClick(picker.search, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    assert asked[-1] == "img-reve-edit" and not picker.isVisible()
    bar.open_picker()
    row = picker.visible_model_ids().index(PRO)
    rect = picker.view.visualRect(picker.list_model.index(row))
    picker.view.customContextMenuRequested.emit(rect.center() + QPoint(0, 0))
    assert asked[-1] == PRO


def test_the_preview_is_the_provider_request_and_costs_nothing(
    run_qasync, qtbot, tmp_path: Path, make_png: Callable[..., Path]
) -> None:
    reference = make_png("my reference.png")

    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            before = await session.engine.credits.refresh()
            bar = window.prompt_bar
            bar.set_state(RequestState(model=PRO_EDIT, aspect_ratio="16:9", num_images=2))
            bar.strip.add_files([reference])
            qtbot.keyClicks(bar.prompt, "a lighthouse, in oil")
            bar.details_button.click()
            sheet = controller.model_sheet.sheet
            assert sheet is not None and sheet.isVisible()
            assert sheet.title.text() == MODELS[PRO_EDIT].label
            await until(lambda: sheet.preview is not None)
            preview = sheet.preview
            assert preview is not None
            assert preview.url == f"https://queue.fal.run/{MODELS[PRO_EDIT].endpoint}"
            body = preview.body
            assert body["prompt"] == "a lighthouse, in oil"
            assert body["aspect_ratio"] == "16:9" and body["num_images"] == 2
            assert body["resolution"] == MODELS[PRO_EDIT].default_resolution
            # The reference is named by its URL in our (embedded) store.
            assert len(body["image_urls"]) == 1
            assert body["image_urls"][0].startswith(session.config.api_base_url or "http://127")
            assert json.loads(sheet.body_view.toPlainText())["body"] == body
            sheet.copy_command_button.click()
            words = shlex.split(QGuiApplication.clipboard().text())
            assert words[:6] == [
                "imagegen", "generate", "--model", PRO_EDIT, "--prompt", "a lighthouse, in oil",
            ]  # fmt: skip
            assert words[words.index("--image") + 1] == str(reference)
            assert words[words.index("--aspect-ratio") + 1] == "16:9"
            # Nothing was held, charged or added to the grid.
            after = await session.engine.credits.refresh()
            assert (after.available, after.reserved) == (before.available, before.reserved)
            assert window.generations.rowCount() == 0 and not controller.engine.in_flight()

            # An invalid request gets the server's sentence (the catalog's rules).
            bar.prompt.clear()
            prompt_problem = next(
                p.message
                for p in validate({"prompt": "", "model": PRO_EDIT})
                if p.field == "prompt"
            )
            await until(lambda: sheet.preview is None and sheet.target.text() != "")
            assert sheet.status.text() == "The server would refuse this request:"
            assert prompt_problem in sheet.target.text()
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
