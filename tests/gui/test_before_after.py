"""Issue 17 part 5: an edit's carousel shows the references it was made from beside the
result, and a before / after wipe with a slider when there is a single reference.

Real widgets, the real engine and the embedded backend on 127.0.0.1; the references are
the uploaded copies the engine sent, still known after the app is restarted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from gui.widgets.before_after import SLIDER_STEPS
from gui.widgets.carousel import CarouselDialog
from gui.widgets.main_window import MainWindow
from gui.widgets.request_state import RequestState
from tests.gui.support import open_window, type_and_generate, until


def _clear_references(window: MainWindow) -> None:
    while window.prompt_bar.strip.rows():  # as a user removes them, one by one
        window.prompt_bar.strip.remove(0)


def _edit(window: MainWindow, prompt: str, refs: list[Path]) -> None:
    state = RequestState("img-nano-banana-edit")
    window.prompt_bar.set_state(state)
    _clear_references(window)
    window.prompt_bar.strip.add_files(refs)
    type_and_generate(window, prompt, state)


def _shown(dialog: CarouselDialog, widget_name: str) -> bool:
    return not getattr(dialog.before_after, widget_name).isHidden()


def test_references_beside_the_result_and_a_wipe_for_one(
    run_qasync, tmp_path: Path, make_png: Callable[..., Path]
) -> None:
    data = tmp_path / "data"

    async def scenario() -> None:
        session, window, controller = await open_window(data)
        try:
            _edit(window, "make it autumn", [make_png("one.png", (640, 400), "teal")])
            await until(lambda: window.generations.items()[0].status == "done", 60)
            _edit(
                window,
                "blend these",
                [make_png("a.png", color="red"), make_png("b.png", color="navy")],
            )
            await until(lambda: window.generations.rowCount() == 2)
            await until(lambda: window.generations.items()[0].status == "done", 60)
            _clear_references(window)
            type_and_generate(window, "a plain fox", RequestState("img-nano-banana"))
            await until(lambda: window.generations.rowCount() == 3)
            await until(lambda: window.generations.items()[0].status == "done", 60)
            plain, two, one = window.generations.items()

            # A single reference: the column and the wipe, with its slider.
            dialog = controller.open_carousel(one.key, 0)
            panel = dialog.before_after
            (ref,) = panel.references
            assert ref.startswith("http://127.0.0.1") and ref not in one.images
            assert _shown(dialog, "column") and _shown(dialog, "slider_row")
            assert panel.comparing
            assert panel.column.title.text() == "Reference"
            # The reference itself (640 x 400, not the square result), at its full size.
            await until(lambda: panel.wipe.before is not None and panel.wipe.before.width() == 640)
            assert (
                panel.wipe.after is not None
                and panel.wipe.after.width() == panel.wipe.after.height()
            )
            panel.slider.setValue(SLIDER_STEPS // 4)
            assert panel.wipe.split == 0.25
            place = panel.wipe.image_rect()
            QTest.mousePress(
                panel.wipe,
                Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
                QPoint(round(place.left() + place.width() * 0.75), round(place.center().y())),
            )
            assert abs(panel.wipe.split - 0.75) < 0.01
            assert abs(panel.slider.value() - 0.75 * SLIDER_STEPS) <= SLIDER_STEPS // 100
            QTest.keyClick(dialog, Qt.Key.Key_C)  # back to the plain, zoomable image
            assert not panel.comparing and not panel.slider.isEnabled()

            # Several references: all of them beside the result, no wipe.
            dialog.go(-1)  # newest first: the two-reference edit is before the first
            assert dialog.current[0].key == two.key
            assert len(panel.references) == 2 and panel.column.title.text() == "References (2)"
            assert not _shown(dialog, "slider_row") and not panel.comparing
            await until(
                lambda: all(t.pixmap() and not t.pixmap().isNull() for t in panel.column.thumbs)
            )

            # Not an edit: the image alone.
            dialog.go(-1)
            assert dialog.current[0].key == plain.key
            assert panel.references == () and not _shown(dialog, "column")
            dialog.reject()
        finally:
            window.close()
            await session.close()

        # After a restart the edit still shows its reference (kept on this machine).
        session, window, controller = await open_window(data)
        try:
            await until(lambda: window.generations.rowCount() == 3)
            first = window.generations.items()[2]
            assert first.prompt == "make it autumn"
            dialog = controller.open_carousel(first.key, 0)
            assert dialog.before_after.references == (ref,)
            assert dialog.before_after.comparing
            dialog.reject()
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
