"""Issue 14, item 10: toasts never cover a card's Copy prompt / Reuse / Download, nor the
prompt bar, at the window's minimum size and larger, wherever the feed is scrolled."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QWidget

from catalog import Options
from gui.engine.events import GenerationCompleted, GenerationStarted
from gui.widgets.generation_delegate import card_layout
from gui.widgets.main_window import MainWindow

LONG = (
    "Could not save the image: the folder you chose is read-only. Choose another folder "
    "and try again."
)


def _in_window(window: MainWindow, widget: QWidget, rect: QRect) -> QRect:
    return QRect(widget.mapTo(window, rect.topLeft()), rect.size())


def _action_rects(window: MainWindow) -> list[QRect]:
    view, model = window.grid, window.generations
    rects = []
    fm = view.delegate.fm_width(view.font())
    for row in range(model.rowCount()):
        visual = view.visualRect(model.index(row))
        if not visual.intersects(view.viewport().rect()):
            continue
        for button in card_layout(visual, model.items()[row], fm).buttons.values():
            rects.append(_in_window(window, view.viewport(), button))
    return rects


@pytest.mark.parametrize("size", [(900, 600), (1280, 800), (1920, 1080)])
def test_toasts_leave_card_actions_and_the_prompt_bar_free(qtbot, size) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    model = window.generations
    for i in range(8):
        key = f"g{i}"
        model.add_started(
            GenerationStarted(key, f"prompt {i}", Options("img-nano-banana", "1:1", 2), None)
        )
        model.apply_completed(GenerationCompleted(key, key, "s", ("http://x/a", "http://x/b")))
    window.toasts.error(LONG)
    window.toasts.success("Prompt copied.")
    window.toasts.info("Image saved to Pictures.")
    QApplication.processEvents()
    toasts = [_in_window(window, t, t.rect()) for t in window.toasts.findChildren(QWidget)]
    toasts = [r for r in toasts if r.isValid()]
    host = _in_window(window, window.toasts, window.toasts.rect())
    assert window.toasts.isVisible() and host.height() >= 3 * 40
    bar = _in_window(window, window.prompt_bar, window.prompt_bar.rect())
    assert not host.intersects(bar), (host, bar)
    feed = _in_window(window, window.grid.viewport(), window.grid.viewport().rect())
    assert feed.contains(host), (feed, host)
    scroll = window.grid.verticalScrollBar()
    for value in range(0, scroll.maximum() + 1, max(1, scroll.maximum() // 12)):
        scroll.setValue(value)
        QApplication.processEvents()
        actions = _action_rects(window)
        assert actions, "some card header is on screen"
        for action in actions:
            assert not host.intersects(action), (size, value, host, action)
    # Every toast's text is whole: each label is as tall as its wrapped text needs.
    for toast in window.toasts._toasts:
        for label in toast.findChildren(QWidget):
            if label.hasHeightForWidth():
                assert label.height() >= label.heightForWidth(label.width())
    assert all(host.contains(r) for r in toasts)
