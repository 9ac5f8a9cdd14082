"""Issue 14 item 2: every prompt-bar control keeps its whole text at ordinary window sizes.

At 900x600, 1280x800 and 1920x1080, for models with the widest option rows, each visible
control's full text fits its width (per QFontMetrics), or it is elided and its tooltip
holds the full text; the model chip always shows at least the start of the model's name.
Nothing may stick out of the window or overlap another control.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QStyle,
    QStyleOptionComboBox,
    QWidget,
)

from catalog import MODELS
from gui.widgets.main_window import MainWindow
from gui.widgets.option_chip import ARROW, MIN_CHARS
from gui.widgets.option_controls import OptionControls
from gui.widgets.prompt_bar import PromptBar
from gui.widgets.request_state import RequestState

SIZES = [(900, 600), (1024, 640), (1280, 800), (1920, 1080)]
# The longest name with resolutions, the one with a quality switch, the most ratios.
STATES = [
    RequestState(model="img-kling-o1", num_images=4),
    RequestState(model="img-gpt-image-1-5", num_images=4, quality="high"),
    RequestState(model="img-nano-banana-pro", num_images=3, aspect_ratio="21:9"),
]


def _combo_text_fits(combo: QComboBox) -> bool:
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(
        QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, combo
    )
    icon = combo.iconSize().width() + 4 if not combo.itemIcon(combo.currentIndex()).isNull() else 0
    needed = combo.fontMetrics().horizontalAdvance(combo.currentText()) + icon
    return needed <= field.width() and combo.width() >= combo.sizeHint().width()


def _fits(widget: QWidget) -> bool:
    if isinstance(widget, QComboBox):
        return _combo_text_fits(widget)
    text = widget.text()  # type: ignore[attr-defined]
    width = widget.fontMetrics().horizontalAdvance(text)
    if isinstance(widget, QAbstractButton):
        return widget.width() >= widget.sizeHint().width() and width < widget.width()
    assert isinstance(widget, QLabel)
    return width <= widget.contentsRect().width()


def _controls(bar: PromptBar) -> list[QWidget]:
    c = bar.controls
    widgets: list[QWidget] = [bar.attach_button, c.ratio, c.count, c.resolution]
    widgets += c.quality_group.buttons()
    widgets += [bar.counter, bar.cost_label, bar.generate_button]
    return [w for w in widgets if w.isVisible()]


def _rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    return QRect(widget.mapTo(ancestor, QPoint(0, 0)), widget.size())


def _check_chip(bar: PromptBar) -> None:
    chip = bar.controls.model_chip
    label = bar.state.spec.label
    assert chip.label == label
    if chip.text() == label + ARROW:
        assert chip.width() >= chip.sizeHint().width(), (label, chip.width())
    else:  # elided: the start of the name shows, the tooltip names it in full
        shown = chip.text().removesuffix(ARROW)
        assert shown.endswith("…") and label.startswith(shown[:-1]), shown
        assert len(shown) - 1 >= min(MIN_CHARS, len(label))
        assert label in chip.toolTip()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_prompt_bar_control_keeps_its_text(qtbot, size: tuple[int, int]) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.resize(*size)
    bar = window.prompt_bar
    for state in STATES:
        bar.set_state(state)
        bar.set_prompt("A lighthouse on a cliff at dawn")
        QApplication.processEvents()
        assert window.size().toTuple() == size
        _check_chip(bar)
        controls = [*_controls(bar), bar.controls.model_chip]
        for widget in _controls(bar):
            assert _fits(widget), (size, state.model, type(widget).__name__, widget.width())
        window_rect = window.rect()
        rects = [_rect_in(w, window) for w in controls]
        for widget, rect in zip(controls, rects, strict=True):
            assert window_rect.contains(rect), (size, state.model, widget, rect)
            assert _rect_in(bar, window).contains(rect), (size, state.model, widget, rect)
        for i, a in enumerate(rects):
            for b in rects[i + 1 :]:
                assert not a.intersects(b), (size, state.model, a, b)


def test_a_chip_without_room_elides_the_name_and_names_it_in_the_tooltip(qtbot) -> None:
    row = OptionControls()
    qtbot.addWidget(row)
    row.set_state(RequestState(model="img-kling-o1"))
    row.resize(150, 200)  # narrower than the chip's whole text
    row.show()
    QApplication.processEvents()
    chip = row.model_chip
    label = MODELS["img-kling-o1"].label
    assert chip.is_elided()
    assert chip.text().startswith(label[:MIN_CHARS])
    assert label in chip.toolTip()
    assert _rect_in(chip, row).right() <= row.rect().right()
    row.resize(1100, 200)  # room again: the whole name
    QApplication.processEvents()
    assert chip.text() == label + ARROW and not chip.is_elided()


def test_with_room_to_spare_no_model_name_is_elided(qtbot) -> None:
    """At 1920x1080 every model's chip shows the whole name (a chip given its own size
    hint must never lose a character to rounding)."""
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1920, 1080)
    window.show()
    bar = window.prompt_bar
    elided = []
    for model in MODELS.values():
        bar.choose_model(model.id)
        QApplication.processEvents()
        chip = bar.controls.model_chip
        if chip.is_elided():
            elided.append((model.label, chip.text(), chip.width(), chip.sizeHint().width()))
    assert elided == []
