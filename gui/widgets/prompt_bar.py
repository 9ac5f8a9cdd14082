"""The prompt bar: prompt text, references, options, live cost and the Generate button.

It owns the request being composed (a `RequestState`, the prompt and the attachments) and
keeps it valid as the user switches models. It never talks to the engine: it emits
`generateRequested` and the window submits `request_parts()`.

The character counter shows the selected model's own limit (Kling O1: 2,500, Reve: 2,560,
else 4,000). Typing stops at our overall 4,000; a prompt longer than the model's limit is
kept (switching models never cuts the user's text) and the counter turns red while
Generate names the limit.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from catalog import MODELS
from catalog.validation import KLING_MODEL_ID, MAX_PROMPT_CHARS
from gui.widgets import icons, theme
from gui.widgets.attachment_strip import URL_MIME, AttachmentStrip
from gui.widgets.blocked_reason import BlockedReason
from gui.widgets.compare_picker import CompareControl
from gui.widgets.model_picker import ModelPicker
from gui.widgets.model_sheet import DETAILS_SHORTCUT, model_details_button
from gui.widgets.option_controls import OptionControls
from gui.widgets.prompt_history_ui import PromptHistoryControls
from gui.widgets.request_state import (
    RequestState,
    after_attachments_changed,
    blocking_reasons,
    fit_to_model,
    initial_state,
    move_mentions,
    renumber_mentions,
    switch_model,
)


def prompt_limit(state: RequestState) -> int:
    """The longest prompt the selected model takes (its provider's limit, at most ours)."""
    return min(state.spec.prompt_max_length, MAX_PROMPT_CHARS)


def counter_text(n: int, limit: int) -> str:
    return f"{n:,} / {limit:,}"


def attachment_limit(state: RequestState) -> int:
    """How many references may be added now (a base model adds into its edit variant)."""
    spec = state.spec
    if spec.attachments.accepted:
        return spec.attachments.max
    if spec.edit_variant and spec.edit_variant in MODELS:
        return MODELS[spec.edit_variant].attachments.max
    return 0


_DROP_EVENTS = (
    QEvent.Type.DragEnter,
    QEvent.Type.DragMove,
    QEvent.Type.DragLeave,
    QEvent.Type.Drop,
)


def _is_image_drop(mime: QMimeData | None) -> bool:
    """A drag carrying an image (grid image, local files, image data), not plain text."""
    if mime is None:
        return False
    files = mime.hasUrls() and any(u.isLocalFile() for u in mime.urls())
    return mime.hasFormat(URL_MIME) or files or mime.hasImage()


class PromptBar(QFrame):
    generateRequested = Signal()
    notice = Signal(str, str)  # text, kind ("info" | "error")
    stateChanged = Signal(object)  # RequestState (to persist last-used settings)
    modelDetailsRequested = Signal(str)  # model id: open its sheet (gui.widgets.model_sheet)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PromptCard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setAcceptDrops(True)
        self._credits: int | None = None
        self._drag_over = False
        self.strip = AttachmentStrip()
        self.strip.hide()
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("Prompt")
        self.prompt.setPlaceholderText(
            "Describe the image you want…  (Ctrl+Enter to generate, Ctrl+V to paste a reference)"
        )
        self.prompt.setTabChangesFocus(True)
        self.prompt.setFixedHeight(74)
        self.prompt.installEventFilter(self)
        # Drops land on the text field's viewport, which would insert a dropped file's path
        # or a dragged image's URL as text: images are taken as references instead.
        # Kept, not asked for in eventFilter: while the bar is being destroyed, Qt still
        # delivers events to the filter, and calling into the dying text field crashes.
        self._prompt_viewport = self.prompt.viewport()
        self._prompt_viewport.installEventFilter(self)
        self.controls = OptionControls()
        self.attach_button = QToolButton()
        self.attach_button.setObjectName("Chip")
        self.attach_button.setToolTip("Add reference images (or drop / paste them)")
        self.attach_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.counter = QLabel()
        self.counter.setObjectName("Muted")
        self.cost_label = QLabel()
        self.cost_label.setObjectName("Muted")
        self.generate_button = QPushButton("  Generate")
        self.generate_button.setObjectName("Primary")
        self.generate_button.setIcon(icons.glyph_icon("spark", 14))
        self.generate_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.generate_button.installEventFilter(self)  # a click while disabled says why
        self.blocked_reason = BlockedReason()
        for button in (self.attach_button, self.generate_button):
            # Tab reaches them; a click leaves the keyboard focus in the prompt.
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.picker = ModelPicker(self)
        self.drop_hint = QLabel("Drop images to use them as references", self)
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.hide()

        # Counter, cost and Generate travel together, at the right end of the last line.
        self.action_group = QWidget()
        actions = QHBoxLayout(self.action_group)
        actions.setContentsMargins(0, 0, 0, 0)
        actions.setSpacing(12)
        actions.addWidget(self.counter)
        actions.addWidget(self.cost_label)
        actions.addWidget(self.generate_button)
        self.controls.add_leading(self.attach_button)
        # Compare: one prompt to 2–4 models at once (gui.widgets.compare_picker).
        self.compare = CompareControl(self)
        self.controls.add_leading(self.compare.chip)
        # Up/Down walk earlier prompts; its button (inserted first) opens the history menu.
        self.history = PromptHistoryControls(self.prompt, self)
        self.controls.add_leading(self.history.button)
        self.controls.add_trailing(self.action_group)
        # "ⓘ" beside the model chip: the model's sheet and the request preview.
        self.details_button = model_details_button(self)
        flow = self.controls.flow
        flow.insert_widget(flow.indexOf(self.controls.model_chip) + 1, self.details_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        layout.addWidget(self.strip)
        layout.addWidget(self.prompt)
        layout.addWidget(self.controls)
        layout.addWidget(self.blocked_reason)
        layout.addWidget(self.compare.note)

        self.prompt.textChanged.connect(self._on_text)
        self.controls.stateChanged.connect(self._on_controls)
        self.controls.modelChipClicked.connect(self.open_picker)
        self.picker.modelChosen.connect(self.choose_model)
        self.picker.detailsRequested.connect(self.modelDetailsRequested)
        self.details_button.clicked.connect(self.open_model_details)
        self.compare.changed.connect(self._refresh)
        self.attach_button.clicked.connect(self._browse)
        self.generate_button.clicked.connect(self._generate)
        self.strip.attachmentsChanged.connect(self._on_attachments)
        self.strip.rejected.connect(lambda text: self.notice.emit(text, "error"))
        self.strip.removedIndex.connect(self._on_removed)
        self.strip.moved.connect(self._on_moved)
        self.strip.mentionRequested.connect(self.insert_mention)
        QShortcut(QKeySequence("Ctrl+M"), self, self.open_picker)
        QShortcut(QKeySequence(DETAILS_SHORTCUT), self, self.open_model_details)
        self.set_state(initial_state())
        self._restyle()
        theme.on_change(self._restyle)

    def _restyle(self) -> None:
        """Icons drawn in the theme's colours are redrawn when it changes."""
        self.attach_button.setIcon(icons.glyph_icon("image", 16))
        self.details_button.setIcon(icons.glyph_icon("info", 16))
        self.controls.restyle()
        self._refresh()

    # -- public API ------------------------------------------------------------------------
    @property
    def state(self) -> RequestState:
        return self.controls.state

    def set_state(self, state: RequestState) -> None:
        state = fit_to_model(state, state.model)
        self.compare.follow_model(state.model)
        self.controls.set_state(state)
        self.strip.set_limit(attachment_limit(state), state.spec.label)
        self.strip.set_mentions(state.model == KLING_MODEL_ID)
        self._refresh()

    def text(self) -> str:
        return self.prompt.toPlainText()

    def set_prompt(self, text: str) -> None:
        self.prompt.setPlainText(text[:MAX_PROMPT_CHARS])

    def set_available_credits(self, available: int | None) -> None:
        self._credits = available
        self._refresh()

    def request_parts(self) -> tuple[RequestState, str, tuple[object, ...]]:
        return self.state, self.text().strip(), self.strip.sources()

    def blocking_reasons(self) -> list[str]:
        if self.compare.active:  # each chosen model's own rules, and the summed cost
            return self.compare.blocking_reasons(
                self.text(), self.state, self.strip.count(), self._credits
            )
        return blocking_reasons(self.state, self.text(), self.strip.count(), self._credits)

    def open_picker(self) -> None:
        self.picker.open_for(self.state.model, self.controls.model_chip)

    def open_model_details(self) -> None:
        self.modelDetailsRequested.emit(self.state.model)

    def choose_model(self, model_id: str) -> None:
        switch = switch_model(self.state, model_id, self.strip.count())
        if switch.keep_attachments < self.strip.count():
            self.strip.trim_to(switch.keep_attachments)
        self.set_state(switch.state)
        self.stateChanged.emit(self.state)
        if switch.notice:
            self.notice.emit(switch.notice, "info")

    def insert_mention(self, n: int) -> None:
        cursor = self.prompt.textCursor()
        before = self.text()[: cursor.position()]
        pad = "" if not before or before.endswith(" ") else " "
        cursor.insertText(f"{pad}@Image{n} ")
        self.prompt.setFocus()

    def paste_from_clipboard(self) -> bool:
        """Add the clipboard's image or image files; False when it holds only text."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return False
        files = mime.hasUrls() and any(u.isLocalFile() for u in mime.urls())
        if not (mime.hasImage() or files):
            return False
        self.strip.add_mime(mime)
        return True

    # -- internals ---------------------------------------------------------------------------
    def _on_text(self) -> None:
        text = self.text()
        if len(text) > MAX_PROMPT_CHARS:
            cursor = self.prompt.textCursor()
            self.prompt.blockSignals(True)
            self.prompt.setPlainText(text[:MAX_PROMPT_CHARS])
            self.prompt.blockSignals(False)
            cursor.setPosition(min(cursor.position(), MAX_PROMPT_CHARS))
            self.prompt.setTextCursor(cursor)
        self._refresh()

    def _on_controls(self, state: RequestState) -> None:
        self._refresh()
        self.stateChanged.emit(state)

    def _on_attachments(self) -> None:
        state = after_attachments_changed(self.state, self.strip.count())
        if state != self.state:
            self.set_state(state)
            self.stateChanged.emit(state)
        else:
            self._refresh()

    def _on_removed(self, n: int) -> None:
        if self.state.model == KLING_MODEL_ID:
            renumbered = renumber_mentions(self.text(), n)
            if renumbered != self.text():
                self.set_prompt(renumbered)

    def _on_moved(self, src: int, dst: int) -> None:
        if self.state.model == KLING_MODEL_ID:
            moved = move_mentions(self.text(), src, dst)
            if moved != self.text():
                self.set_prompt(moved)

    def _refresh(self) -> None:
        t = theme.current()
        n = len(self.text().strip())  # what the provider receives, as validate counts it
        limit = prompt_limit(self.state)
        self.counter.setText(counter_text(n, limit))
        self.counter.setToolTip(
            f"{self.state.spec.label} prompts can be at most {limit:,} characters."
        )
        near = n > limit * 0.9
        self.counter.setStyleSheet(f"color: {t.danger};" if near else "")
        self.counter.setVisible(n > 0)
        cost = self.state.cost
        plan = None
        if self.compare.active:
            plan = self.compare.plan_for(self.text(), self.state, self.strip.count())
            cost = plan.total_cost  # the sum: what the comparison reserves before it runs
        self.compare.show_plan(plan, self.text())
        self.cost_label.setText(f"{cost} credit{'s' if cost != 1 else ''}")
        reasons = self.blocking_reasons()
        self.generate_button.setEnabled(not reasons)
        self.generate_button.setToolTip(
            "\n".join(reasons) if reasons else f"Generate ({cost} credits) — Ctrl+Enter"
        )
        self.blocked_reason.set_reasons(reasons)

    def _generate(self) -> None:
        if self.blocking_reasons():
            self.blocked_reason.flash()  # never a silent no-op: say why, visibly
        else:
            self.generateRequested.emit()

    def _browse(self) -> None:
        # Starts in the folder last used, else Pictures, else home (reference_files.py).
        self.strip.browse()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _DROP_EVENTS and watched is self._prompt_viewport:
            return self._drop_on_text(event)  # type: ignore[arg-type]
        if watched is self.generate_button:
            if event.type() == QEvent.Type.MouseButtonPress and not watched.isEnabled():
                self.blocked_reason.flash()
            return False
        if watched is self.prompt and event.type() in (
            QEvent.Type.FocusIn,
            QEvent.Type.FocusOut,
        ):
            self._mark_focus(event.type() == QEvent.Type.FocusIn)
            return False
        if watched is self.prompt and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            if ctrl and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._generate()
                return True
            if event.matches(QKeySequence.StandardKey.Paste) and self.paste_from_clipboard():
                return True
        return False

    def _mark_focus(self, on: bool) -> None:
        """The card shows a focus ring while the prompt has the keyboard focus."""
        if bool(self.property("focused")) != on:
            self.setProperty("focused", on)
            self.style().unpolish(self)
            self.style().polish(self)
            self.update()

    def _drop_on_text(self, event: QDropEvent) -> bool:
        """Images dropped on the text become references; anything else is left to it."""
        kind = event.type()
        if kind == QEvent.Type.DragLeave:  # carries no data; the hint may be showing
            self._show_drop_hint(False)
            return False
        if not _is_image_drop(event.mimeData()):
            return False
        if kind == QEvent.Type.Drop:
            self.dropEvent(event)
        else:
            event.acceptProposedAction()
            self._show_drop_hint(True)
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if AttachmentStrip.can_accept(event.mimeData()):
            event.acceptProposedAction()
            self._show_drop_hint(True)

    def dragLeaveEvent(self, event) -> None:
        self._show_drop_hint(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self._show_drop_hint(False)
        self.strip.add_mime(event.mimeData())
        event.acceptProposedAction()

    def _show_drop_hint(self, on: bool) -> None:
        t = theme.current()
        self.drop_hint.setStyleSheet(
            # Opaque: the prompt's placeholder and chips must not show through the words.
            f"background: {t.surface}; border: 2px dashed {t.accent};"
            " border-radius: 16px;"
            f"color: {t.accent}; font-weight: 700; font-size: 14px;"
        )
        self.drop_hint.setGeometry(self.rect())
        self.drop_hint.setVisible(on)
        self.drop_hint.raise_()
