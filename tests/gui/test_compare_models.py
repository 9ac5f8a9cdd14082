"""Compare models: one prompt to several models, through the real window and engine.

The picker is driven like a user drives it (search, Enter ticks the top row); generations
run on the embedded backend on 127.0.0.1, each its own run, hold and tile.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from catalog import MODELS, Options
from gui.widgets.compare_mark import pill_rect
from gui.widgets.compare_picker import ComparePicker
from gui.widgets.compare_view import CompareView
from gui.widgets.controller import WindowController
from gui.widgets.generation_delegate import HEADER_H, MARGIN, PAD
from gui.widgets.main_window import MainWindow
from gui.widgets.request_state import RequestState
from tests.gui.support import open_window, shown_prompt_bar, until

COMPARED = ["img-nano-banana", "img-imagen4-preview", "img-kling-o1", "img-hunyuan-v3"]


def tick(qtbot, picker: ComparePicker, label: str) -> None:
    """Search for ``label`` and press Enter: the top row (the exact name) is ticked."""
    picker.search.clear()
    qtbot.keyClicks(picker.search, label)
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)


def choose_models(qtbot, window: MainWindow) -> None:
    """Start from Nano Banana (the picker ticks the prompt bar's model) and add three."""
    bar = window.prompt_bar
    bar.set_state(RequestState(model="img-nano-banana"))
    bar.compare.chip.click()
    picker = bar.compare.picker
    assert picker.isVisible() and picker.chosen() == ["img-nano-banana"]
    for model_id in COMPARED[1:]:
        tick(qtbot, picker, MODELS[model_id].label)
    assert picker.chosen() == COMPARED
    tick(qtbot, picker, "Reve")  # a fifth model is refused, and the popup says why
    assert picker.chosen() == COMPARED
    assert "At most 4 models" in picker.hint.text()
    picker.done_button.click()
    assert not picker.isVisible()


def click_pill(qtbot, window: MainWindow, controller: WindowController, row: int) -> CompareView:
    """Click the pill of the grid's ``row`` where it is painted; returns the view it opens."""
    grid = window.grid
    index = grid.model().index(row, 0)
    grid.scrollTo(index)
    item = window.generations.items()[row]
    mark = controller.compare.mark_for(item)
    assert mark is not None
    card = grid.visualRect(index).adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
    pill = pill_rect(card, mark, grid.font(), PAD, HEADER_H)
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=pill.center())
    view = controller.compare.view
    assert view is not None and view.isVisible()
    return view


def test_the_picker_chooses_models_and_the_bar_shows_the_summed_cost(qtbot) -> None:
    bar = shown_prompt_bar(qtbot)
    bar.compare.chip.click()
    picker = bar.compare.picker
    tick(qtbot, picker, "Flux 2 Max")
    assert bar.compare.active and bar.compare.chip.text() == "Compare · 2"
    qtbot.keyClicks(bar.prompt, "a lighthouse at dusk")
    expected = Options.defaults("img-nano-banana").cost + Options.defaults("img-flux-2-max").cost
    assert bar.cost_label.text() == f"{expected} credits"
    assert bar.generate_button.isEnabled()
    # Unticking one leaves a single model: no comparison, the single model's cost again.
    picker.toggle_row(picker.list_model.model_ids().index("img-flux-2-max"))
    assert not bar.compare.active and bar.compare.chip.text() == "Compare"
    assert bar.cost_label.text() == f"{Options.defaults('img-nano-banana').cost} credits"
    picker.stop_button.click()
    assert bar.compare.model_ids == [] and not picker.isVisible()


def test_a_request_no_chosen_model_takes_blocks_generate_with_the_reasons(qtbot) -> None:
    bar = shown_prompt_bar(qtbot, model="img-kling-o1")
    bar.compare.set_models(["img-kling-o1", "img-flux-kontext-pro"])  # both need a reference
    qtbot.keyClicks(bar.prompt, "make it blue")
    assert not bar.generate_button.isEnabled()
    reasons = bar.blocking_reasons()
    assert reasons[0] == "None of the chosen models can take this request:"
    assert any("Kling O1" in r for r in reasons) and any("FLUX Kontext" in r for r in reasons)


def test_compare_runs_each_model_in_one_group_and_one_session(
    run_qasync, qtbot, tmp_path: Path
) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            await until(lambda: window.header.credits.text() != "— credits")
            before = (await session.engine.credits.refresh()).available
            choose_models(qtbot, window)
            bar = window.prompt_bar
            qtbot.keyClicks(bar.prompt, "a lighthouse at dusk")
            # Kling O1 needs a reference: it is named, left out, and not counted.
            assert bar.compare.note.isVisible()
            assert "Left out of the comparison: Kling O1" in bar.compare.note.text()
            going = [m for m in COMPARED if m != "img-kling-o1"]
            total = sum(Options.defaults(m).cost for m in going)
            assert bar.cost_label.text() == f"{total} credits"

            bar.generate_button.click()
            # The prompt sent as a comparison is in the prompt history like any other.
            assert session.history.entries()[0] == "a lighthouse at dusk"
            model = window.generations
            assert any(
                "Left out of the comparison: Kling O1" in m for m in window.toasts.messages()
            )
            await until(lambda: model.rowCount() == 3)
            await until(lambda: all(i.status == "done" for i in model.items()))
            items = model.items()
            # One row per model, the first chosen on top, all marked as one group.
            assert [i.options.model for i in items] == going
            marks = [controller.compare.mark_for(i) for i in items]
            assert [m.position for m in marks if m] == [0, 1, 2]
            assert len({m.group_id for m in marks if m}) == 1
            assert all(len(i.images) == 1 for i in items)
            # One session: the first generation made it, the others waited for it.
            assert {i.session_id for i in items} == {controller.current_session}
            assert len(await session.library.sessions()) == 1
            # Each model is its own hold: together they cost the sum shown before.
            await until(lambda: not controller.engine.in_flight())
            after = await session.engine.credits.refresh()
            assert before - after.available == total and after.reserved == 0
            # Clicking a row's "Compare n/m" pill shows the comparison side by side.
            view = click_pill(qtbot, window, controller, row=1)
            assert view.column_titles() == [MODELS[m].label for m in going]
            # Each column shows its model's image (decoded from the grid's thumbnails).
            await until(lambda: all(not c.images[0].pixmap().isNull() for c in view.columns))
            view.reject()
            assert controller.compare.view is None
        finally:
            window.close()
            await session.close()

        # After a restart the rows come from the backend: the group is found by row id.
        session, window, controller = await open_window(tmp_path, resume=False)
        try:
            model = window.generations
            await until(lambda: model.rowCount() == 3)
            marks = [controller.compare.mark_for(i) for i in model.items()]
            assert all(i.local_id is None for i in model.items())
            assert sorted(m.position for m in marks if m) == [0, 1, 2]
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)


def test_ticked_and_unticked_rows_look_different_in_both_themes(qtbot) -> None:
    """The tick boxes follow the theme: unstyled, every box painted as the same black
    square (found by hand under Xvfb), ticked or not."""
    from PySide6.QtWidgets import QApplication

    from gui.widgets import theme

    app = QApplication.instance()
    before = "dark" if theme.current() is theme.DARK else "light"
    try:
        _check_tick_boxes(qtbot, app)
    finally:
        theme.apply_theme(app, before)  # the next tests see the theme they started with


def _check_tick_boxes(qtbot, app) -> None:
    from PySide6.QtGui import QColor

    from gui.widgets import theme

    for name in ("light", "dark"):
        theme.apply_theme(app, name)
        picker = ComparePicker()
        qtbot.addWidget(picker)
        ticked, plain = 1, 2  # rows on screen without scrolling
        picker.open_for([picker.list_model.model_ids()[ticked]])
        qtbot.waitExposed(picker)
        picker.view.selectionModel().clear()  # no highlight: only the tick may differ
        accent = QColor(theme.current().c("accent")).rgb()
        assert accent in _tick_box(picker, ticked), name  # filled with the theme's accent
        assert accent not in _tick_box(picker, plain), name
        picker.hide()


def _tick_box(picker: ComparePicker, row: int) -> set[int]:
    """The colours painted across the start of ``row``, where its tick box is."""
    image = picker.view.viewport().grab().toImage()
    rect = picker.view.visualRect(picker.list_model.index(row))
    y = rect.center().y()
    return {image.pixel(x, y) for x in range(rect.left() + 2, rect.left() + 26)}
