"""The prompt bar: Generate's reasons, Ctrl+Enter, model switching, mentions, attachments."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from catalog.validation import MAX_PROMPT_CHARS
from gui.widgets.attachment_strip import URL_MIME
from tests.gui.support import shown_prompt_bar


def test_generate_is_disabled_with_the_reason_in_its_tooltip(qtbot) -> None:
    bar = shown_prompt_bar(qtbot)
    assert not bar.generate_button.isEnabled()
    assert "Enter a prompt" in bar.generate_button.toolTip()
    qtbot.keyClicks(bar.prompt, "a red fox in the snow")
    assert bar.generate_button.isEnabled()
    bar.set_available_credits(2)
    assert not bar.generate_button.isEnabled()
    assert "you have 2 available" in bar.generate_button.toolTip()


def test_ctrl_enter_generates(qtbot) -> None:
    bar = shown_prompt_bar(qtbot)
    qtbot.keyClicks(bar.prompt, "a lighthouse")
    with qtbot.waitSignal(bar.generateRequested):
        qtbot.keyClick(bar.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def test_live_cost_follows_the_options(qtbot) -> None:
    bar = shown_prompt_bar(qtbot, "img-gpt-image-1-5")
    assert bar.cost_label.text() == "4 credits"
    bar.controls.quality_group.buttons()[1].click()  # high
    bar.controls.count.setCurrentIndex(2)  # 3 images
    assert bar.state.quality == "high" and bar.state.num_images == 3
    assert bar.cost_label.text() == "48 credits"


def test_prompt_is_capped_with_a_counter(qtbot) -> None:
    bar = shown_prompt_bar(qtbot)
    bar.prompt.setPlainText("x" * (MAX_PROMPT_CHARS + 50))
    assert len(bar.text()) == MAX_PROMPT_CHARS
    assert bar.counter.text() == "4,000 / 4,000"


def test_missing_attachment_blocks_edit_models(qtbot, make_png) -> None:
    bar = shown_prompt_bar(qtbot, "img-flux-kontext-pro")
    qtbot.keyClicks(bar.prompt, "make it blue")
    assert not bar.generate_button.isEnabled()
    assert "exactly 1 reference image" in bar.generate_button.toolTip()
    bar.strip.add_files([make_png()])
    assert bar.generate_button.isEnabled()


def test_attaching_to_a_base_model_switches_to_its_edit_variant(qtbot, make_png) -> None:
    bar = shown_prompt_bar(qtbot, "img-nano-banana")
    bar.strip.add_files([make_png("a.png")])
    assert bar.state.model == "img-nano-banana-edit"
    bar.strip.remove(0)
    assert bar.state.model == "img-nano-banana"


def test_switching_to_a_single_image_model_trims_with_a_notice(qtbot, make_png) -> None:
    bar = shown_prompt_bar(qtbot, "img-seedream-v45-edit")
    bar.strip.add_files([make_png(f"{i}.png") for i in range(3)])
    assert bar.strip.count() == 3
    with qtbot.waitSignal(bar.notice) as notice:
        bar.choose_model("img-flux-kontext-pro")
    assert bar.strip.count() == 1
    assert "the last 2 images are kept but not sent" in notice.args[0]


def test_kling_mentions_are_inserted_and_renumbered(qtbot, make_png) -> None:
    bar = shown_prompt_bar(qtbot, "img-kling-o1")
    bar.strip.add_files([make_png(f"{i}.png") for i in range(3)])
    assert bar.strip.mentions
    bar.insert_mention(1)
    qtbot.keyClicks(bar.prompt, "beside")
    bar.insert_mention(3)
    assert bar.text() == "@Image1 beside @Image3 "
    assert bar.generate_button.isEnabled()
    bar.strip.remove(1)  # image 2 goes: @Image3 becomes @Image2
    assert bar.text().strip() == "@Image1 beside @Image2"
    bar.set_prompt("@Image1 and @Image5")
    assert "@Image5 refers to image 5" in bar.generate_button.toolTip()


def test_non_image_and_too_many_files_are_rejected_with_the_file_name(
    qtbot, make_png, tmp_path: Path
) -> None:
    bar = shown_prompt_bar(qtbot, "img-gpt-image-1-5-edit")
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    messages: list[str] = []
    bar.notice.connect(lambda text, kind: messages.append(text))
    bar.strip.add_files([notes])
    assert messages == ["“notes.txt” is not an image (use PNG, JPEG, WebP, GIF or BMP)."]
    bar.strip.add_files([make_png(f"{i}.png") for i in range(11)])
    assert bar.strip.count() == 10
    assert "“10.png” was not added" in messages[-1] and "at most 10" in messages[-1]


def test_models_without_references_reject_files(qtbot, make_png) -> None:
    bar = shown_prompt_bar(qtbot, "img-imagen4-preview")
    messages: list[str] = []
    bar.notice.connect(lambda text, kind: messages.append(text))
    bar.strip.add_files([make_png("photo.png")])
    assert bar.strip.count() == 0
    assert "“photo.png” was not added: Imagen 4 does not take reference images" in messages[0]


def test_single_image_models_replace(qtbot, make_png) -> None:
    bar = shown_prompt_bar(qtbot, "img-flux-kontext-pro")
    bar.strip.add_files([make_png("first.png")])
    bar.strip.add_files([make_png("second.png")])
    assert bar.strip.names() == ["second.png"]


def test_drop_files_from_the_file_manager(qtbot, make_png) -> None:
    bar = shown_prompt_bar(qtbot, "img-seedream-v4-edit")
    mime = QMimeData()
    mime.setUrls(
        [
            QUrl.fromLocalFile(str(make_png("drop1.png"))),
            QUrl.fromLocalFile(str(make_png("drop2.png"))),
        ]
    )
    event = QDropEvent(
        QPointF(20, 20),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    bar.dropEvent(event)
    assert bar.strip.names() == ["drop1.png", "drop2.png"]
    assert [type(s).__name__ for s in bar.strip.sources()] == ["PosixPath", "PosixPath"]


def test_drop_a_generated_image_from_the_grid(qtbot) -> None:
    bar = shown_prompt_bar(qtbot, "img-nano-banana")
    mime = QMimeData()
    mime.setData(URL_MIME, b"http://127.0.0.1:9/files/out/abc.png")
    assert bar.strip.add_mime(mime) == 1
    assert bar.strip.sources() == ("http://127.0.0.1:9/files/out/abc.png",)
    assert bar.state.model == "img-nano-banana-edit"


def test_paste_an_image_from_the_clipboard(qtbot) -> None:
    bar = shown_prompt_bar(qtbot, "img-reve-edit")
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(QColor("orange"))
    QGuiApplication.clipboard().setImage(image)
    bar.prompt.setFocus()
    qtbot.keyClick(bar.prompt, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bar.strip.count() == 1)
    data, name = bar.strip.sources()[0]  # type: ignore[misc]
    assert data.startswith(b"\x89PNG") and name == "pasted image.png"
    assert bar.text() == ""  # the image was not pasted as text
    QApplication.clipboard().setText("just words")
    qtbot.keyClick(bar.prompt, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert bar.text() == "just words" and bar.strip.count() == 1


def test_dragging_a_thumbnail_reorders_and_mentions_follow_their_picture(qtbot, make_png) -> None:
    bar = shown_prompt_bar(qtbot, "img-kling-o1")
    strip = bar.strip
    strip.add_files([make_png(f"{n}.png") for n in ("a", "b", "c")])
    bar.set_prompt("put @Image1 left of @Image3")
    # Qt's own icon-mode move would only shift the picture on screen: ours reorders.
    assert strip.viewport().acceptDrops() and strip.dragEnabled()
    strip.setCurrentRow(2)
    first = strip.visualItemRect(strip.item(0))
    own = QMimeData()
    own.setData("application/x-qabstractitemmodeldatalist", b"")
    drop = QDropEvent(
        QPointF(first.left() + 2, first.center().y()),
        Qt.DropAction.CopyAction,
        own,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    drop.source = lambda: strip  # a real drag started by the strip itself
    strip.dropEvent(drop)
    assert strip.names() == ["c.png", "a.png", "b.png"]
    assert bar.text() == "put @Image2 left of @Image1"  # still the same pictures


def test_reorder_and_upload_progress(qtbot, make_png) -> None:
    bar = shown_prompt_bar(qtbot, "img-seedream-v4-edit")
    bar.strip.add_files([make_png(f"{n}.png") for n in ("a", "b", "c")])
    bar.strip.move(0, 2)
    assert bar.strip.names() == ["b.png", "c.png", "a.png"]
    bar.strip.set_progress(1, 0.5)
    assert bar.strip.attachments()[1].progress == 0.5
    bar.strip.clear_progress()
    assert all(a.progress is None for a in bar.strip.attachments())


def _drag_onto(widget, mime: QMimeData) -> None:
    """Deliver a whole drag-and-drop to `widget` the way Qt does: enter, move, drop."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent

    pos = QPoint(30, 20)
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(pos, action, mime, buttons, mods)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(widget, QDragMoveEvent(pos, action, mime, buttons, mods))
    QApplication.sendEvent(widget, QDropEvent(QPointF(pos), action, mime, buttons, mods))


def test_images_dropped_on_the_text_become_references_not_text(qtbot, make_png) -> None:
    bar = shown_prompt_bar(qtbot, "img-seedream-v4-edit")
    bar.set_prompt("a castle")
    target = bar.prompt.viewport()  # where a drop over the prompt really lands
    grid_drag = QMimeData()  # what the grid puts on a dragged image
    url = "http://127.0.0.1:9/files/out/abc.png"
    grid_drag.setData(URL_MIME, url.encode())
    grid_drag.setUrls([QUrl(url)])
    grid_drag.setText(url)
    _drag_onto(target, grid_drag)
    files = QMimeData()
    files.setUrls([QUrl.fromLocalFile(str(make_png("dropped.png")))])
    files.setText(str(make_png("dropped.png")))
    _drag_onto(target, files)
    assert bar.strip.sources() == (url, make_png("dropped.png"))
    assert bar.text() == "a castle"  # no URL or path was typed into the prompt
    words = QMimeData()
    words.setText(" at night")
    _drag_onto(target, words)  # plain text still drops as text
    assert "at night" in bar.text() and bar.strip.count() == 2
