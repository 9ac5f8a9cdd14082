"""The model picker: search, keyboard navigation, show all, choosing."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from catalog import MODELS, picker_models
from gui.widgets.model_picker import ModelPicker, badges, price_label


def _picker(qtbot) -> ModelPicker:
    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.open_for("img-nano-banana")
    qtbot.waitUntil(picker.isVisible)
    return picker


def test_lists_the_web_picker_models_with_selection(qtbot) -> None:
    picker = _picker(qtbot)
    assert picker.visible_model_ids() == [m.id for m in picker_models()]
    assert picker.current_model_id() == "img-nano-banana"


def test_typing_filters_by_name_company_and_description(qtbot) -> None:
    picker = _picker(qtbot)
    qtbot.keyClicks(picker.search, "seedream")
    assert picker.visible_model_ids() == [
        "img-seedream-v45",
        "img-seedream-v45-edit",
        "img-seedream-v4",
        "img-seedream-v4-edit",
    ]
    picker.search.clear()
    qtbot.keyClicks(picker.search, "tencent")
    assert picker.visible_model_ids() == ["img-hunyuan-v3"]
    picker.search.clear()
    qtbot.keyClicks(picker.search, "zzz no such model")
    assert picker.visible_model_ids() == []
    assert picker.empty.isVisibleTo(picker)


def test_keyboard_down_enter_chooses_and_closes(qtbot) -> None:
    picker = _picker(qtbot)
    qtbot.keyClicks(picker.search, "google")
    first = picker.visible_model_ids()
    assert picker.current_model_id() == "img-nano-banana"  # the selected model stays current
    start = first.index(picker.current_model_id())
    qtbot.keyClick(picker.search, Qt.Key.Key_Down)
    qtbot.keyClick(picker.search, Qt.Key.Key_Down)
    qtbot.keyClick(picker.search, Qt.Key.Key_Up)
    with qtbot.waitSignal(picker.modelChosen) as chosen:
        qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    assert chosen.args == [first[start + 1]]
    assert not picker.isVisible()


def test_escape_closes_without_choosing(qtbot) -> None:
    picker = _picker(qtbot)
    with qtbot.assertNotEmitted(picker.modelChosen):
        qtbot.keyClick(picker.search, Qt.Key.Key_Escape)
    assert not picker.isVisible()


def test_show_all_reveals_the_two_hidden_models(qtbot) -> None:
    picker = _picker(qtbot)
    assert "img-wan-v22-a14b" not in picker.visible_model_ids()
    picker.show_all.setChecked(True)
    ids = picker.visible_model_ids()
    assert {"img-wan-v22-a14b", "img-hunyuan-v21"} <= set(ids)
    assert len(ids) == len(picker_models()) + 2


def test_badges_and_prices_come_from_the_catalog() -> None:
    assert badges(MODELS["img-nano-banana-pro"]) == ["New", "1K · 2K · 4K"]
    assert "Edit" in badges(MODELS["img-flux-kontext-pro"])
    assert badges(MODELS["img-gpt-image-1-5"]) == ["New", "Medium / High"]
    assert price_label(MODELS["img-gpt-image-1-5"]) == "4–16 cr / image"
    assert price_label(MODELS["img-reve"]) == "3 cr / image"


def _assert_rows_aligned(picker: ModelPicker) -> None:
    view = picker.view
    top = view.indexAt(QPoint(10, 1))
    assert top.isValid() and view.visualRect(top).top() == 0  # no half row at the top
    current = view.visualRect(view.currentIndex())
    # The current row is fully visible.
    assert 0 <= current.top() and current.bottom() < view.viewport().height()
    assert current.right() < view.viewport().width()  # prices and ticks are not cut off


def test_opens_with_the_selected_model_centred_and_no_row_cut_off(qtbot) -> None:
    picker = ModelPicker()
    qtbot.addWidget(picker)
    ids = [m.id for m in picker_models()]
    selected = ids[len(ids) - 4]  # far enough down that the list must scroll
    picker.open_for(selected)
    qtbot.waitUntil(picker.isVisible)
    assert picker.current_model_id() == selected
    assert picker.view.verticalScrollBar().value() > 0
    _assert_rows_aligned(picker)
    middle = picker.view.viewport().height() / 2
    assert abs(picker.view.visualRect(picker.view.currentIndex()).center().y() - middle) < 70
    for _ in range(len(ids)):  # down to the end, then back to the top, row by row
        qtbot.keyClick(picker.search, Qt.Key.Key_Down)
        _assert_rows_aligned(picker)
    assert picker.current_model_id() == ids[-1]
    for _ in range(len(ids)):
        qtbot.keyClick(picker.search, Qt.Key.Key_Up)
        _assert_rows_aligned(picker)
    assert picker.view.verticalScrollBar().value() == 0
