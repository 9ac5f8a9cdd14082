"""The model picker: search, keyboard navigation, show all, choosing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QPushButton, QWidget

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


# -- the popup's size and place on the screen (issue 14, item 3) ---------------------------


def _anchored_picker(qtbot, anchor_at: QPoint) -> tuple[ModelPicker, QPushButton, QWidget]:
    """A picker owned by a window, opened from a button at `anchor_at` on the screen (as the
    prompt bar's model chip opens it). The caller keeps the window alive (qtbot holds
    widgets weakly, and the window owns the picker)."""
    host = QWidget()
    qtbot.addWidget(host)
    screen = QGuiApplication.primaryScreen().availableGeometry()
    host.setGeometry(screen)
    anchor = QPushButton("Nano Banana", host)
    anchor.setGeometry(QRect(host.mapFromGlobal(anchor_at), anchor.sizeHint()))
    host.show()
    qtbot.waitExposed(host)
    picker = ModelPicker(host)
    picker.open_for("img-nano-banana", anchor)
    qtbot.waitUntil(picker.isVisible)
    qtbot.wait(20)  # let any pending layout request resize the popup, as a user would see
    return picker, anchor, host


def _global_rect(widget: QWidget) -> QRect:
    return QRect(widget.mapToGlobal(QPoint(0, 0)), widget.size())


def _assert_on_screen(picker: ModelPicker) -> None:
    avail = picker.screen().availableGeometry()
    assert avail.contains(picker.frameGeometry()), (picker.frameGeometry(), avail)
    assert picker.show_all.isVisible()
    assert avail.contains(_global_rect(picker.show_all))
    assert picker.rect().contains(picker.show_all.geometry())


def _search_nothing_then_something(qtbot, picker: ModelPicker) -> None:
    qtbot.keyClicks(picker.search, "zzz")
    qtbot.wait(20)
    assert picker.visible_model_ids() == [] and picker.empty.isVisible()
    qtbot.keyClick(picker.search, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(picker.search, "hunyuan")
    qtbot.wait(20)
    assert picker.visible_model_ids() == ["img-hunyuan-v3"]


def test_popup_keeps_its_size_on_screen_after_a_search_with_no_results(qtbot) -> None:
    avail = QGuiApplication.primaryScreen().availableGeometry()
    chip = QPoint(avail.left() + 20, avail.bottom() - 60)  # the prompt bar is at the bottom
    picker, anchor, _host = _anchored_picker(qtbot, chip)
    opened = picker.frameGeometry()
    _assert_on_screen(picker)
    assert opened.bottom() < chip.y()  # above the chip, not over it
    _search_nothing_then_something(qtbot, picker)
    assert picker.frameGeometry() == opened
    _assert_on_screen(picker)
    assert picker.current_model_id() == "img-hunyuan-v3"
    _assert_rows_aligned(picker)
    qtbot.keyClick(picker.search, Qt.Key.Key_Escape)
    picker.open_for("img-nano-banana", anchor)
    qtbot.wait(20)
    assert picker.frameGeometry() == opened  # reopening does not keep a grown size
    _assert_on_screen(picker)


def test_popup_opens_below_a_chip_at_the_top_and_inside_the_right_edge(qtbot) -> None:
    avail = QGuiApplication.primaryScreen().availableGeometry()
    chip = QPoint(avail.right() - 60, avail.top() + 10)
    picker, anchor, _host = _anchored_picker(qtbot, chip)
    _assert_on_screen(picker)
    assert picker.frameGeometry().top() > _global_rect(anchor).bottom()  # not over the chip


@pytest.mark.parametrize(("height", "beside_the_chip"), [(420, True), (300, False)])
def test_popup_fits_a_short_screen_with_whole_rows(
    qtbot, monkeypatch: pytest.MonkeyPatch, height: int, beside_the_chip: bool
) -> None:
    """A short screen (say 1280x900 at a scale of 2) gets fewer, whole rows: above the chip
    while at least three fit there, else over it, but always on screen."""
    short = QRect(0, 0, 800, height)
    monkeypatch.setattr(QScreen, "availableGeometry", lambda self: short)
    picker, anchor, _host = _anchored_picker(qtbot, QPoint(20, height - 50))
    assert picker.screen().availableGeometry() == short
    _assert_on_screen(picker)
    assert picker.visible_rows < 6
    assert (picker.frameGeometry().bottom() < _global_rect(anchor).top()) == beside_the_chip
    _assert_rows_aligned(picker)
    opened = picker.frameGeometry()
    _search_nothing_then_something(qtbot, picker)
    assert picker.frameGeometry() == opened
    _assert_on_screen(picker)
    for _ in range(len("hunyuan")):  # back to the whole list, then page through it
        qtbot.keyClick(picker.search, Qt.Key.Key_Backspace)
    assert picker.visible_model_ids() == [m.id for m in picker_models()]
    for _ in range(len(picker_models())):
        qtbot.keyClick(picker.search, Qt.Key.Key_PageDown)
        _assert_rows_aligned(picker)
    assert picker.frameGeometry() == opened
