"""Issue 14 items 7 and 9: a visible keyboard focus, and a blocked Generate that says why.

Focus: each control Tab reaches draws a ring in the theme's focus colour (checked in the
pixels of the real widget, in both themes) that it does not draw unfocused. Blocked: the
reason is shown as text under Generate, and Ctrl+Enter on a blocked request flashes it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QWidget

from gui.engine.convex_types import SessionGeneration, SessionSummary
from gui.widgets import theme
from gui.widgets.main_window import MainWindow
from gui.widgets.request_state import RequestState


def _ring_pixels(image: QImage, color: QColor, tolerance: int = 40) -> int:
    """How many pixels are (nearly) the focus colour."""
    n = 0
    for y in range(0, image.height()):
        for x in range(0, image.width()):
            c = image.pixelColor(x, y)
            diff = abs(c.red() - color.red()) + abs(c.green() - color.green())
            if diff + abs(c.blue() - color.blue()) <= tolerance:
                n += 1
    return n


def _grab(widget: QWidget, window: QWidget, pad: int = 3) -> QImage:
    """The widget's area as painted in the window (rings are drawn inside the widget)."""
    top_left = widget.mapTo(window, QPoint(0, 0))
    rect = QRect(top_left, widget.size()).adjusted(-pad, -pad, pad, pad)
    return window.grab(rect).toImage()


@pytest.fixture(params=["dark", "light"])
def window(request, qtbot, qapp: QApplication) -> Iterator[MainWindow]:
    theme.apply_theme(qapp, request.param)
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    w.prompt_bar.set_state(RequestState(model="img-gpt-image-1-5"))
    w.prompt_bar.set_prompt("A lighthouse at dawn")
    sessions = [{"_id": "a", "title": "Foxes", "updatedAt": 2e12}, {"_id": "b", "title": "Whales"}]
    w.sidebar.set_sessions([SessionSummary.model_validate(doc) for doc in sessions])
    yield w
    theme.apply_theme(qapp, "dark")  # the suite's theme


def _focus_widgets(w: MainWindow) -> dict[str, QWidget]:
    bar, c = w.prompt_bar, w.prompt_bar.controls
    return {
        "attach button": bar.attach_button,
        "model chip": c.model_chip,
        "ratio combo": c.ratio,
        "count combo": c.count,
        "quality segment": c.quality_group.buttons()[0],
        "generate": bar.generate_button,
        "settings gear": w.header.settings_button,
        "new session": w.sidebar.new_button,
    }


def test_every_focusable_control_shows_a_focus_ring(window: MainWindow, qtbot) -> None:
    t = theme.current()
    for name, widget in _focus_widgets(window).items():
        ring = QColor(t.text if widget is window.prompt_bar.generate_button else t.focus)
        window.grid.setFocus(Qt.FocusReason.OtherFocusReason)  # somewhere else first
        window.sidebar.list.clearFocus()
        before = _ring_pixels(_grab(widget, window), ring)
        widget.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(widget.hasFocus)
        after = _ring_pixels(_grab(widget, window), ring)
        assert after > before + 2 * widget.width(), (name, before, after)


def test_the_prompt_card_and_a_session_row_show_focus(window: MainWindow, qtbot) -> None:
    t = theme.current()
    bar, ring = window.prompt_bar, QColor(t.focus)
    window.sidebar.new_button.setFocus(Qt.FocusReason.TabFocusReason)
    unfocused = _ring_pixels(_grab(bar, window), ring)
    bar.prompt.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(bar.prompt.hasFocus)
    assert _ring_pixels(_grab(bar, window), ring) > unfocused + bar.width()

    view = window.sidebar.list
    rows = _grab(view, window)
    view.setFocus(Qt.FocusReason.TabFocusReason)  # Tab into the list: its first row
    qtbot.waitUntil(lambda: window.sidebar_focus.ring_rect() is not None)
    QApplication.processEvents()
    assert _ring_pixels(_grab(view, window), ring) > _ring_pixels(rows, ring) + 200
    qtbot.keyClick(view, Qt.Key.Key_Down)  # the ring follows the current row
    qtbot.waitUntil(lambda: view.currentRow() == 1)
    QApplication.processEvents()
    rect = window.sidebar_focus.ring_rect()
    assert rect is not None and rect.intersects(view.visualRect(view.currentIndex()))


def test_blocked_generate_says_why_under_the_button(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(900, 600)
    window.show()
    bar = window.prompt_bar
    bar.set_state(RequestState(model="img-kling-o1"))  # needs a reference image
    bar.set_prompt("")
    QApplication.processEvents()
    reason = bar.blocked_reason
    assert not bar.generate_button.isEnabled()
    assert reason.isVisible()
    assert "Enter a prompt" in reason.text()
    assert "needs at least 1 reference image" in reason.text()
    button = QRect(bar.generate_button.mapTo(bar, QPoint(0, 0)), bar.generate_button.size())
    label = QRect(reason.mapTo(bar, QPoint(0, 0)), reason.size())
    assert label.top() >= button.bottom()  # under the button,
    assert label.right() >= button.left()  # on its side of the bar
    assert bar.rect().contains(label)

    bar.set_state(RequestState(model="img-nano-banana"))
    bar.prompt.setFocus()
    qtbot.keyClicks(bar.prompt, "a fox")
    assert bar.generate_button.isEnabled()
    assert not reason.isVisible()


def test_ctrl_enter_on_a_blocked_request_flashes_the_reason(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    bar = window.prompt_bar
    bar.set_state(RequestState(model="img-nano-banana"))
    bar.set_prompt("")
    QApplication.processEvents()
    reason = bar.blocked_reason
    calm = reason.grab().toImage()
    assert not reason.is_flashing()
    with qtbot.assertNotEmitted(bar.generateRequested):
        qtbot.keyClick(bar.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert reason.is_flashing()
    assert reason.grab().toImage() != calm  # visibly different, not only a property
    qtbot.waitUntil(lambda: not reason.is_flashing(), timeout=3000)  # then calms down
    qtbot.mouseClick(bar.generate_button, Qt.MouseButton.LeftButton)  # disabled: says why
    assert reason.is_flashing()


def test_a_grid_card_shows_keyboard_focus(window: MainWindow, qtbot) -> None:
    ring = QColor(theme.current().focus)
    window.generations.set_records(
        [
            SessionGeneration.model_validate(
                {"_id": f"g{i}", "prompt": f"card {i}", "model": "img-reve", "isLoading": True}
            )
            for i in range(3)
        ]
    )
    grid = window.grid
    QApplication.processEvents()
    before = _ring_pixels(_grab(grid, window), ring)
    grid.setCurrentIndex(grid.model().index(0, 0))
    window.sidebar.new_button.setFocus(Qt.FocusReason.TabFocusReason)
    for _ in range(40):  # Tab, as a person would, until the grid has the focus
        if grid.hasFocus():
            break
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert grid.hasFocus(), QApplication.focusWidget()
    qtbot.waitUntil(lambda: window.grid_focus.ring_rect() is not None)
    QApplication.processEvents()
    assert _ring_pixels(_grab(grid, window), ring) > before + 200
    qtbot.keyClick(grid, Qt.Key.Key_Down)  # the ring follows the current card
    qtbot.waitUntil(lambda: grid.currentIndex().row() == 1)
    rect = window.grid_focus.ring_rect()
    assert rect is not None and rect.intersects(grid.visualRect(grid.currentIndex()))


def test_the_drop_overlay_hides_the_placeholder_under_it(window: MainWindow) -> None:
    """Dragging images over the bar: its words stand on an opaque card, not on the
    placeholder text showing through."""
    bar = window.prompt_bar
    bar.set_prompt("")
    QApplication.processEvents()
    viewport = bar.prompt.viewport()
    # The placeholder's first line, in the bar's coordinates, away from the dashed border.
    top_left = viewport.mapTo(bar, QPoint(0, 0))
    area = QRect(top_left.x() + 6, top_left.y() + 4, viewport.width() // 3, 14)

    def colours() -> int:
        image = bar.grab(area).toImage()
        return len({image.pixel(x, y) for x in range(image.width()) for y in range(image.height())})

    assert colours() > 2  # the placeholder's letters are there
    bar._show_drop_hint(True)
    QApplication.processEvents()
    assert colours() <= 2  # covered: one flat colour (and perhaps an edge)


def test_a_checkbox_shows_the_ring_only_while_it_has_focus(qtbot) -> None:
    """The picker's "Show all models": no focus-coloured frame until it has the focus."""
    from PySide6.QtWidgets import QCheckBox, QLineEdit, QVBoxLayout

    ring = QColor(theme.current().focus)
    host = QWidget()
    qtbot.addWidget(host)
    column = QVBoxLayout(host)
    field, box = QLineEdit(), QCheckBox("Show all models")
    column.addWidget(field)
    column.addWidget(box)
    host.resize(400, 100)
    host.show()
    field.setFocus()
    QApplication.processEvents()
    assert _ring_pixels(box.grab().toImage(), ring) == 0
    box.setFocus(Qt.FocusReason.TabFocusReason)
    QApplication.processEvents()
    assert _ring_pixels(box.grab().toImage(), ring) > 20
