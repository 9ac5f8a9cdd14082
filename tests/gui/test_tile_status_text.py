"""Issue 14, item 10: a loading card's status is never cut ("In que…", "Upload…").

The real window at its minimum size (900x600) and larger: narrow 9:16 tiles, four to a card,
and short 21:9 ones. The status shows whole (on the first tile, across the row, or wrapped),
and hovering the tiles gives the full text as a tooltip.
"""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

from catalog import Options
from gui.engine.events import GenerationProgress, GenerationStarted, Phase
from gui.widgets import tile_paint
from gui.widgets.generation_delegate import card_layout
from gui.widgets.main_window import MainWindow

DETAILS = ["In queue #3", "Uploading…", "Uploading 2/3", "Reserving credits…", "Generating…"]


def _window(qtbot, size: tuple[int, int]) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.mark.parametrize("size", [(900, 600), (1280, 800)])
@pytest.mark.parametrize(("ratio", "count"), [("9:16", 4), ("9:16", 1), ("21:9", 4), ("1:1", 2)])
def test_status_text_is_whole_in_narrow_tiles(qtbot, size, ratio: str, count: int) -> None:
    window = _window(qtbot, size)
    model, view = window.generations, window.grid
    for i, detail in enumerate(DETAILS):
        key = f"run{i}"
        model.add_started(
            GenerationStarted(key, "a fox", Options("img-nano-banana", ratio, count), None)
        )
        model.apply_progress(GenerationProgress(key, Phase.QUEUED, detail))
    QApplication.processEvents()
    font = tile_paint.status_font(view.font())
    fm = QFontMetrics(font)
    for i, detail in enumerate(DETAILS):
        item = model.get(f"run{i}")
        rect = view.visualRect(model.index(model.row_of(item.key)))
        lay = card_layout(rect, item, view.delegate.fm_width(view.font()))
        status = view.delegate.status_layout(lay, item, font)
        shown = " ".join(text for _rect, text in status.lines)
        assert shown == detail, f"{size} {ratio}x{count}: {shown!r} for {detail!r}"
        assert not status.elided
        row = lay.tiles[0].united(lay.tiles[-1])
        assert row.contains(status.pill), (status.pill, row)
        for line_rect, text in status.lines:
            assert fm.horizontalAdvance(text) <= line_rect.width(), (text, line_rect)
            assert status.pill.contains(line_rect)
        # The full text is also the tooltip over any of the card's tiles.
        assert view.delegate.tooltip(rect, item, lay.tiles[-1].center()) == detail


def test_the_first_tile_of_a_1280_window_keeps_a_one_line_pill(qtbot) -> None:
    window = _window(qtbot, (1280, 800))
    model, view = window.generations, window.grid
    model.add_started(GenerationStarted("a", "a fox", Options("img-nano-banana", "1:1", 2), None))
    model.apply_progress(GenerationProgress("a", Phase.QUEUED, "In queue #3"))
    item = model.get("a")
    lay = card_layout(view.visualRect(model.index(0)), item)
    status = view.delegate.status_layout(lay, item, tile_paint.status_font(view.font()))
    assert not status.wrapped and lay.tiles[0].contains(status.pill)
