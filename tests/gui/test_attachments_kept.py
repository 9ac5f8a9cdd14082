"""Issue 14 item 8: switching model keeps the references it cannot send.

They stay on the strip, dimmed and labelled "Not sent", are left out of the request, and
are sent again as soon as a model that takes them is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QImage

from gui.engine.request import EngineRequest
from gui.widgets.prompt_bar import PromptBar
from gui.widgets.request_state import RequestState
from tests.gui.support import open_window, shown_prompt_bar, until


def _four(bar: PromptBar, make_png: Callable[..., Path]) -> list[str]:
    names = [f"{i}.png" for i in range(4)]
    bar.strip.add_files([make_png(n, color="white") for n in names])
    assert bar.strip.wait_for_thumbnails()
    assert bar.strip.names() == names
    return names


def _brightness(image: QImage, rect: QRect) -> float:
    total, n = 0.0, 0
    for x in range(rect.left() + 12, rect.right() - 12, 3):
        for y in range(rect.top() + 12, rect.top() + 36, 3):
            total += QColor(image.pixel(x, y)).lightnessF()
            n += 1
    return total / n


def test_switching_to_a_single_image_model_keeps_the_others_and_brings_them_back(
    qtbot: Any, make_png: Callable[..., Path]
) -> None:
    bar = shown_prompt_bar(qtbot, "img-seedream-v45-edit")
    names = _four(bar, make_png)
    with qtbot.waitSignal(bar.notice) as notice:
        bar.choose_model("img-flux-kontext-pro")
    text = notice.args[0]
    assert "the last 3 images are kept but not sent" in text and "removed" not in text
    # Only what the model takes is sent; the rest stay on the strip, marked.
    assert bar.strip.names() == names[:1]
    assert bar.strip.sources() == (bar.strip.attachments()[0].source,)
    assert [a.name for a in bar.strip.kept()] == names[1:]
    assert bar.strip.rows() == 4 and bar.strip.isVisible()
    assert not any("at most" in r for r in bar.blocking_reasons())
    tip = bar.strip.item(1).toolTip()
    assert "not sent" in tip and "FLUX Kontext Pro takes at most 1 image" in tip

    # Back to a model that takes them: all four are sent again, in their order.
    bar.choose_model("img-seedream-v45")  # the base model becomes its edit variant
    assert bar.state.model == "img-seedream-v45-edit"
    assert bar.strip.names() == names and bar.strip.kept() == []


def test_kept_references_are_painted_dimmed(qtbot: Any, make_png: Callable[..., Path]) -> None:
    bar = shown_prompt_bar(qtbot, "img-seedream-v45-edit")
    _four(bar, make_png)
    bar.choose_model("img-flux-kontext-pro")
    qtbot.waitUntil(lambda: bar.strip.isVisible())
    strip = bar.strip
    image = strip.viewport().grab().toImage()
    sent = _brightness(image, strip.visualItemRect(strip.item(0)))
    kept = _brightness(image, strip.visualItemRect(strip.item(1)))
    assert sent > 0.8 and kept < sent - 0.3, (sent, kept)


def test_a_text_only_model_sends_none_and_the_base_model_restores_them(
    qtbot: Any, make_png: Callable[..., Path]
) -> None:
    bar = shown_prompt_bar(qtbot, "img-nano-banana-edit")
    names = _four(bar, make_png)
    messages: list[str] = []
    bar.notice.connect(lambda text, _kind: messages.append(text))
    bar.choose_model("img-imagen4-preview")
    assert bar.strip.count() == 0 and bar.strip.sources() == ()
    assert [a.name for a in bar.strip.kept()] == names
    assert "Imagen 4 does not take reference images: 4 images are kept" in messages[-1]
    qtbot.keyClicks(bar.prompt, "a lighthouse")
    assert bar.generate_button.isEnabled(), bar.generate_button.toolTip()
    bar.choose_model("img-nano-banana")
    assert bar.state.model == "img-nano-banana-edit" and bar.strip.names() == names


def test_a_kept_reference_can_be_removed_or_dragged_in_front(
    qtbot: Any, make_png: Callable[..., Path]
) -> None:
    bar = shown_prompt_bar(qtbot, "img-seedream-v45-edit")
    names = _four(bar, make_png)
    bar.choose_model("img-flux-kontext-pro")
    bar.strip.move(3, 0)  # the last one is now the one sent
    assert bar.strip.names() == [names[3]]
    assert [a.name for a in bar.strip.kept()] == [names[0], names[1], names[2]]
    bar.strip.remove(2)  # a kept one goes for good; the one sent stays
    assert bar.strip.names() == [names[3]]
    assert [a.name for a in bar.strip.kept()] == [names[0], names[2]]
    bar.strip.remove(0)  # the one sent goes: the next kept one takes its place
    assert bar.strip.names() == [names[0]] and [a.name for a in bar.strip.kept()] == [names[2]]


def test_the_request_sent_carries_only_what_the_model_takes(
    run_qasync: Any, tmp_path: Path, qtbot: Any, make_png: Callable[..., Path]
) -> None:
    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        sent: list[EngineRequest] = []
        submit = controller.engine.submit

        def spy(request: EngineRequest) -> str:
            sent.append(request)
            return submit(request)

        controller.engine.submit = spy  # type: ignore[method-assign]
        try:
            bar = window.prompt_bar
            bar.set_state(RequestState(model="img-seedream-v45-edit"))
            files = [make_png(f"{i}.png", color=c) for i, c in enumerate(("red", "lime", "blue"))]
            bar.strip.add_files(files)
            bar.choose_model("img-flux-kontext-pro")
            assert "kept but not sent" in window.toasts.messages()[-1]
            qtbot.keyClicks(bar.prompt, "make it a watercolour")
            bar.generate_button.click()
            grid = window.generations
            await until(lambda: grid.rowCount() == 1 and grid.items()[0].status == "done")
            assert [r.attachments for r in sent] == [(files[0],)]
            # Still there for the next model that takes them.
            assert [a.name for a in bar.strip.kept()] == ["1.png", "2.png"]
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
