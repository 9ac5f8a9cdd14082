"""The controller's helper for the model sheet: opens it for a model and runs its request
preview through the engine (``gui.engine.preview``), like ``grid_actions.py`` does for the
grid. Only this module and the controller call the engine for the sheet.

Opened from the prompt bar, the sheet follows the bar: another model chosen there shows
that model, and an edit of the prompt or options refreshes the preview after a short pause
(never one request per keystroke). Opened from the picker for another model, it shows that
model with the bar's request moved onto it, as choosing the model would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

from catalog import MODELS, Options
from gui.engine.attachments import AttachmentSource
from gui.engine.model_facts import model_facts
from gui.engine.preview import PreviewRefused, command_line, preview_request
from gui.engine.request import EngineRequest
from gui.widgets.model_sheet import ModelSheet
from gui.widgets.request_state import fit_to_model

if TYPE_CHECKING:
    from gui.widgets.controller import WindowController

REFRESH_PAUSE_MS = 400


class ModelSheetFlow:
    def __init__(self, controller: WindowController) -> None:
        self.controller = controller
        self.sheet: ModelSheet | None = None
        self.follows_bar = True
        self._asked = 0  # answers to an older request than the newest are dropped
        self._timer = QTimer(controller)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_PAUSE_MS)
        self._timer.timeout.connect(self.refresh)
        bar = controller.window.prompt_bar
        bar.stateChanged.connect(self._bar_changed)
        bar.prompt.textChanged.connect(self._bar_changed)
        bar.strip.attachmentsChanged.connect(self._bar_changed)

    def open_for_bar(self) -> ModelSheet:
        """The sheet of the prompt bar's model, following the bar."""
        return self.open(self.controller.window.prompt_bar.state.model, follow=True)

    def open(self, model_id: str, follow: bool = False) -> ModelSheet:
        if model_id not in MODELS:
            model_id = self.controller.window.prompt_bar.state.model
        sheet = self.sheet
        if sheet is None:
            sheet = self.sheet = ModelSheet(self.controller.window)
            sheet.refreshRequested.connect(self.refresh)
        self.follows_bar = follow or model_id == self.controller.window.prompt_bar.state.model
        sheet.show_facts(model_facts(model_id))
        sheet.show()
        sheet.raise_()
        sheet.activateWindow()
        self.refresh()
        return sheet

    def request(self) -> EngineRequest:
        """The prompt bar's request, moved onto the sheet's model when it shows another."""
        bar = self.controller.window.prompt_bar
        state, prompt, sources = bar.request_parts()
        model_id = self.sheet.model_id if self.sheet is not None else state.model
        options: Options = state if model_id == state.model else fit_to_model(state, model_id)
        references: tuple[AttachmentSource, ...] = sources  # type: ignore[assignment]
        limit = MODELS[model_id].attachments.max
        return EngineRequest(
            prompt=prompt,
            options=options,
            attachments=references[:limit],
            session_id=self.controller.current_session,
        )

    def refresh(self) -> None:
        sheet = self.sheet
        if sheet is None:
            return
        request = self.request()
        self._asked += 1
        sheet.show_pending(command_line(request))
        self.controller.run(self._preview(request, self._asked), "previewing the request")

    async def _preview(self, request: EngineRequest, asked: int) -> None:
        command = command_line(request)
        try:
            preview = await preview_request(self.controller.session.engine, request)
        except PreviewRefused as exc:
            if asked == self._asked and self.sheet is not None:
                self.sheet.show_refusal(exc.message, command)
            return
        if asked == self._asked and self.sheet is not None:
            self.sheet.show_preview(preview, command)

    def _bar_changed(self, *_: object) -> None:
        sheet = self.sheet
        if sheet is None or not sheet.isVisible():
            return
        bar_model = self.controller.window.prompt_bar.state.model
        if self.follows_bar and sheet.model_id != bar_model:
            sheet.show_facts(model_facts(bar_model))
        self._timer.start()
