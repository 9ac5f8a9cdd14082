"""The controller's helper for comparisons: the prompt bar's plan -> the engine's runner.

Like `grid_actions.py` and `settings_flow.py`, it acts for `WindowController` and reaches
the engine only through the session the controller holds. It hands the grid's delegate the
lookup that says which rows belong to one comparison, and opens a comparison side by side
when its "Compare n/m" pill is clicked (watched on the grid's viewport, before the view
handles the click).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QMouseEvent

from gui.engine.compare import CompareRunner, new_group_id
from gui.engine.compare_groups import CompareGroups, GroupMark
from gui.engine.compare_plan import left_out_sentence
from gui.widgets.compare_mark import pill_rect
from gui.widgets.compare_view import CompareView
from gui.widgets.generation_delegate import HEADER_H, MARGIN, PAD
from gui.widgets.generation_model import GenerationItem, ItemRole

if TYPE_CHECKING:
    from gui.widgets.controller import WindowController

GROUPS_FILE = "compare_groups.json"


class CompareFlow(QObject):
    def __init__(self, controller: WindowController) -> None:
        super().__init__(controller)
        self.controller = controller
        data_dir = Path(controller.session.config.data_dir)
        self.groups = CompareGroups(data_dir / GROUPS_FILE, controller.bus)
        self.runner = CompareRunner(controller.engine, self.groups)
        controller.window.grid.delegate.group_of = self.mark_for
        controller.window.grid.viewport().installEventFilter(self)
        self.view: CompareView | None = None

    def mark_for(self, item: GenerationItem) -> GroupMark | None:
        return self.groups.mark_for(item.local_id, item.generation_id, item.key)

    def generate(self) -> str | None:
        """Start the prompt bar's comparison; returns its group id (None: nothing to run).
        Models that cannot take the request are named in a toast and left out."""
        window = self.controller.window
        bar = window.prompt_bar
        state, prompt, sources = bar.request_parts()
        plan = bar.compare.plan_for(prompt, state, len(sources))
        if not plan.accepted:
            return None
        for entry in plan.refused:
            window.toasts.info(left_out_sentence(entry))
        group_id = new_group_id()
        self.controller.run(
            self.runner.submit(
                group_id,
                plan,
                prompt,
                sources,  # type: ignore[arg-type]
                self.controller.current_session,
            ),
            "comparing models",
        )
        window.grid.scrollToTop()
        return group_id

    def open_view(self, group_id: str) -> CompareView:
        """The comparison ``group_id`` side by side, over the window."""
        window = self.controller.window
        if self.view is not None and self.view.isVisible():
            self.view.close()
        self.view = CompareView(window.generations, window.cache, group_id, self.mark_for, window)
        self.view.finished.connect(lambda _result: self._forget_view())
        self.view.show()
        return self.view

    def _forget_view(self) -> None:
        self.view = None

    def pill_group_at(self, pos: QPoint) -> str | None:
        """The comparison whose pill is under the viewport point, if any."""
        grid = self.controller.window.grid
        index = grid.indexAt(pos)
        item = index.data(ItemRole) if index.isValid() else None
        mark = self.mark_for(item) if isinstance(item, GenerationItem) else None
        if mark is None:
            return None
        card = grid.visualRect(index).adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        pill = pill_rect(card, mark, grid.font(), PAD, HEADER_H)
        return mark.group_id if pill.contains(pos) else None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.MouseButtonRelease:
            assert isinstance(event, QMouseEvent)
            if event.button() == Qt.MouseButton.LeftButton:
                group_id = self.pill_group_at(event.position().toPoint())
                if group_id is not None:
                    self.open_view(group_id)
                    return True
        return False
