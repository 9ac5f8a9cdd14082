"""The grid's selection: which images a drag, Ctrl+C or Ctrl+Shift+C acts on, and the
outline that shows the selected cards (the delegate paints cards, not selection).

A click selects a card, Ctrl+click adds or removes one, Shift+click a range (Qt's
extended selection). Pressing on an image of a selected card when several are selected
drags every image of the selection; otherwise the image under the pointer.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRectF
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QListView

from gui.widgets import theme
from gui.widgets.drag_out import DraggedImage, dragged_image
from gui.widgets.generation_delegate import MARGIN
from gui.widgets.generation_model import GenerationItem, ItemRole

OUTLINE_RADIUS = 16.0


def selected_items(view: QListView) -> list[GenerationItem]:
    """The selected generations, top to bottom."""
    rows = sorted(view.selectionModel().selectedRows(), key=QModelIndex.row)
    items = [index.data(ItemRole) for index in rows]
    return [item for item in items if isinstance(item, GenerationItem)]


def images_of(items: list[GenerationItem]) -> list[DraggedImage]:
    """Every finished image of ``items``, in order."""
    return [
        dragged_image(item, i)
        for item in items
        if item.status == "done"
        for i in range(len(item.images))
    ]


def drag_images(view: QListView, item: GenerationItem, index: int) -> list[DraggedImage]:
    """What a drag that starts on ``item``'s image ``index`` carries."""
    chosen = selected_items(view)
    if len(chosen) > 1 and any(other.key == item.key for other in chosen):
        return images_of(chosen) or [dragged_image(item, index)]
    return [dragged_image(item, index)]


def keyboard_images(view: QListView) -> list[DraggedImage]:
    """What Ctrl+C / Ctrl+Shift+C act on: the selection, else the current card."""
    chosen = selected_items(view)
    if not chosen:
        current = view.currentIndex().data(ItemRole) if view.currentIndex().isValid() else None
        chosen = [current] if isinstance(current, GenerationItem) else []
    return images_of(chosen)


def paint_selection(view: QListView, painter: QPainter) -> None:
    """Outline the selected cards (on the viewport, over what the delegate painted)."""
    rows = view.selectionModel().selectedRows() if view.selectionModel() else []
    if not rows:
        return
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(theme.current().c("accent"), 2))
    for index in rows:
        rect = view.visualRect(index)
        if rect.isValid() and rect.intersects(view.viewport().rect()):
            card = QRectF(rect.adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)).adjusted(1, 1, -1, -1)
            painter.drawRoundedRect(card, OUTLINE_RADIUS, OUTLINE_RADIUS)
