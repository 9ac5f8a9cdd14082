"""The fullscreen carousel: keys, zoom, copy, and actions handed back to the window."""

from __future__ import annotations

import io

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from catalog import Options
from gui.widgets.carousel import CarouselDialog
from gui.widgets.generation_model import GenerationItem
from gui.widgets.thumbnail_cache import ThumbnailCache


def _png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    return out.getvalue()


def _dialog(qtbot) -> CarouselDialog:
    cache = ThumbnailCache()
    cache.fetch = lambda url, edge: cache.deliver(url, edge, _png(url.rsplit("/", 1)[-1]))
    a = GenerationItem(
        key="a", prompt="first prompt", options=Options("img-reve"), images=["h/red", "h/blue"]
    )
    b = GenerationItem(
        key="b", prompt="second prompt", options=Options("img-reve"), images=["h/green"]
    )
    entries = [(a, 0, "h/red"), (a, 1, "h/blue"), (b, 0, "h/green")]
    dialog = CarouselDialog(entries, 1, cache)
    qtbot.addWidget(dialog)
    dialog.resize(800, 600)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.canvas.pixmap is not None)
    return dialog


def test_left_right_walk_every_image_and_wrap(qtbot) -> None:
    dialog = _dialog(qtbot)
    assert dialog.counter.text() == "2 / 3"
    qtbot.keyClick(dialog, Qt.Key.Key_Right)
    assert dialog.current[2] == "h/green" and dialog.counter.text() == "3 / 3"
    assert "second prompt" in dialog.caption.text()
    qtbot.keyClick(dialog, Qt.Key.Key_Right)
    assert dialog.current[2] == "h/red"
    qtbot.keyClick(dialog, Qt.Key.Key_Left)
    assert dialog.current[2] == "h/green"
    qtbot.waitUntil(lambda: dialog.canvas.pixmap is not None and dialog.canvas.pixmap.width() == 64)


def test_zoom_and_fit(qtbot) -> None:
    dialog = _dialog(qtbot)
    assert dialog.canvas.zoom is None
    qtbot.keyClick(dialog, Qt.Key.Key_Plus)
    assert dialog.canvas.zoom == 1.25  # a 64 px image fits at 1.0; + zooms from there
    qtbot.keyClick(dialog, Qt.Key.Key_Minus)
    assert dialog.canvas.zoom == 1.0
    qtbot.keyClick(dialog, Qt.Key.Key_0)
    assert dialog.canvas.zoom is None


def test_escape_closes(qtbot) -> None:
    dialog = _dialog(qtbot)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_copy_and_hand_back_actions(qtbot) -> None:
    dialog = _dialog(qtbot)
    dialog.trigger("copy_prompt")
    assert QGuiApplication.clipboard().text() == "first prompt"
    QGuiApplication.clipboard().clear()
    with qtbot.waitSignal(dialog.notice, check_params_cb=lambda text, _k: "copied" in text):
        dialog.trigger("copy_image")  # the original is loaded first, then copied
    assert QGuiApplication.clipboard().image().width() == 64
    with qtbot.waitSignal(dialog.saveRequested) as saved:
        dialog.trigger("save")
    assert saved.args == ["h/blue", "imagegen-a-2.png"]
    with qtbot.waitSignal(dialog.useAsReference) as ref:
        dialog.trigger("reference")
    assert ref.args == ["h/blue"] and not dialog.isVisible()
