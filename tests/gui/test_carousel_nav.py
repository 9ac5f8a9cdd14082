"""Issue 14, item 10: the carousel has visible previous / next buttons; keys still work."""

from __future__ import annotations

import io

from PIL import Image
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication, QPushButton

from catalog import Options
from gui.widgets.carousel import CarouselDialog
from gui.widgets.generation_model import GenerationItem
from gui.widgets.thumbnail_cache import ThumbnailCache


def _png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    return out.getvalue()


def _dialog(qtbot, urls: list[str]) -> CarouselDialog:
    cache = ThumbnailCache()
    cache.fetch = lambda url, edge: cache.deliver(url, edge, _png(url.rsplit("/", 1)[-1]))
    item = GenerationItem(key="a", prompt="a prompt", options=Options("img-reve"), images=urls)
    dialog = CarouselDialog([(item, i, u) for i, u in enumerate(urls)], 0, cache)
    qtbot.addWidget(dialog)
    dialog.resize(900, 600)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def _nav(dialog: CarouselDialog) -> tuple[QPushButton, QPushButton]:
    buttons = {b.accessibleName(): b for b in dialog.findChildren(QPushButton)}
    return buttons["Previous image"], buttons["Next image"]


def test_previous_and_next_buttons_are_on_screen_and_walk_the_images(qtbot) -> None:
    dialog = _dialog(qtbot, ["h/red", "h/blue", "h/green"])
    prev, nxt = _nav(dialog)
    canvas = QRect(
        dialog.canvas.mapTo(dialog, dialog.canvas.rect().topLeft()), dialog.canvas.size()
    )
    for button in (prev, nxt):
        assert button.isVisible() and button.isEnabled()
        where = QRect(button.mapTo(dialog, button.rect().topLeft()), button.size())
        assert canvas.contains(where) and where.width() >= 32
        assert "arrow" in button.toolTip()
    assert prev.mapTo(dialog, prev.rect().center()).x() < dialog.width() // 4
    assert nxt.mapTo(dialog, nxt.rect().center()).x() > dialog.width() * 3 // 4
    qtbot.mouseClick(nxt, Qt.MouseButton.LeftButton)
    assert dialog.current[2] == "h/blue" and dialog.counter.text() == "2 / 3"
    qtbot.mouseClick(prev, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(prev, Qt.MouseButton.LeftButton)
    assert dialog.current[2] == "h/green"  # wraps, like the Left key
    # The buttons take no focus: the arrow keys keep walking after a click.
    qtbot.keyClick(dialog, Qt.Key.Key_Right)
    assert dialog.current[2] == "h/red"
    qtbot.keyClick(dialog, Qt.Key.Key_Left)
    assert dialog.current[2] == "h/green"


def test_buttons_follow_a_resize_and_are_disabled_for_a_single_image(qtbot) -> None:
    dialog = _dialog(qtbot, ["h/red", "h/blue"])
    _prev, nxt = _nav(dialog)
    dialog.resize(1400, 900)
    QApplication.processEvents()
    right = nxt.mapTo(dialog, nxt.rect().topRight()).x()
    assert dialog.width() - 80 < right < dialog.width()
    single = _dialog(qtbot, ["h/red"])
    assert not any(b.isEnabled() for b in _nav(single))


def test_an_image_that_failed_says_so_and_reloads(qtbot) -> None:
    cache_fail = {"on": True}
    dialog = _dialog(qtbot, ["h/red"])
    cache = dialog.cache
    cache.fetch = lambda url, edge: cache.deliver(
        url, edge, None if cache_fail["on"] else _png("red")
    )
    dialog.entries = [(dialog.entries[0][0], 0, "h/broken")]
    dialog.go(0)
    qtbot.waitUntil(lambda: dialog.canvas.failed)
    assert dialog.buttons["reload"].isVisible()
    cache_fail["on"] = False
    qtbot.keyClick(dialog, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: dialog.canvas.pixmap is not None)
    assert not dialog.canvas.failed and not dialog.buttons["reload"].isVisible()


def test_neighbours_are_fetched_after_the_shown_image_one_at_a_time(qtbot) -> None:
    """On a slow link the image the user opened must not share it with the two beside it:
    nothing else is asked for until it is shown, then the next one, then the previous."""
    from catalog.image_variants import LARGE_EDGE

    asked: list[str] = []
    held: list[tuple[str, int]] = []
    cache = ThumbnailCache()

    def fetch(url: str, edge: int) -> None:
        asked.append(url)
        held.append((url, edge))  # delivered when the test says so, like a slow download

    def deliver_next() -> None:
        url, edge = held.pop(0)
        cache.deliver(url, edge, _png(url.rsplit("/", 1)[-1]))
        qtbot.waitUntil(lambda: cache.lookup(url, edge) is not None)

    cache.fetch = fetch
    urls = ["h/red", "h/blue", "h/green", "h/white"]
    item = GenerationItem(key="a", prompt="a prompt", options=Options("img-reve"), images=urls)
    dialog = CarouselDialog([(item, i, u) for i, u in enumerate(urls)], 1, cache)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: bool(asked))
    QApplication.processEvents()
    assert asked == ["h/blue"]  # only the opened image while it loads
    deliver_next()
    qtbot.waitUntil(lambda: len(asked) == 2)
    QApplication.processEvents()
    assert asked == ["h/blue", "h/green"] and dialog.canvas.pixmap is not None
    deliver_next()
    qtbot.waitUntil(lambda: len(asked) == 3)
    assert all(edge == LARGE_EDGE for _url, edge in held)
    assert asked == ["h/blue", "h/green", "h/red"]
    deliver_next()
    QApplication.processEvents()
    assert len(asked) == 3  # both neighbours here: nothing more is asked for
    assert cache.lookup("h/white", LARGE_EDGE) is None
