"""One comparison side by side: a column per model, its images one above the other.

The grid shows a comparison as rows (one per model, tied by a rail); this dialog, opened
from a row's "Compare n/m" pill, puts the same generations next to each other so one
prompt can be judged across models at a glance, even in a 900x600 window. It reads the
grid's rows and thumbnails and follows them live (a model still running shows its status,
a failed one its reason); it does no I/O of its own.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from catalog import MODELS
from gui.engine.compare_groups import GroupMark
from gui.widgets import icons
from gui.widgets.generation_model import GenerationItem, GenerationListModel
from gui.widgets.thumbnail_cache import DISK_MAX_EDGE, ThumbnailCache

MarkLookup = Callable[[GenerationItem], GroupMark | None]


def group_items(
    model: GenerationListModel, group_id: str, mark_for: MarkLookup
) -> list[tuple[GroupMark, GenerationItem]]:
    """The rows of ``group_id`` on screen, in the comparison's order."""
    found = [(mark, item) for item in model.items() if (mark := mark_for(item)) is not None]
    return sorted((p for p in found if p[0].group_id == group_id), key=lambda p: p[0].position)


class CompareColumn(QFrame):
    """One model: logo, name, options and cost over its images (or its status)."""

    def __init__(self, cache: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PromptCard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.cache = cache
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 700; font-size: 14px;")
        self.meta = QLabel()
        self.meta.setObjectName("Muted")
        self.status = QLabel()
        self.status.setObjectName("Muted")
        self.status.setWordWrap(True)
        self.images: list[QLabel] = []
        self._urls: list[str] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(12, 10, 12, 12)
        self._layout.setSpacing(6)
        head = QHBoxLayout()
        self.logo = QLabel()
        head.addWidget(self.logo)
        head.addWidget(self.title, 1)
        self._layout.addLayout(head)
        self._layout.addWidget(self.meta)
        self._layout.addWidget(self.status)
        self._layout.addStretch(1)

    def show_item(self, item: GenerationItem) -> None:
        spec = MODELS.get(item.options.model)
        if spec is not None:
            self.logo.setPixmap(icons.logo_pixmap(spec.logo, spec.company, 18))
        self.title.setText(item.model_label)
        bits = [b for b in (item.options.aspect_ratio, item.options.resolution) if b]
        cost = item.options.cost if spec is not None else 0
        self.meta.setText("  ·  ".join([*bits, f"{cost} credits"]))
        status = {"loading": item.detail or "Generating…", "error": item.error}
        status["cancelled"] = item.error or "Cancelled."
        self.status.setText(status.get(item.status, ""))
        self.status.setVisible(item.status != "done")
        self._urls = list(item.images)
        while len(self.images) < len(self._urls):
            label = QLabel()
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            label.setMinimumHeight(120)
            self.images.append(label)
            self._layout.insertWidget(self._layout.count() - 1, label, 1)
        for i, label in enumerate(self.images):
            label.setVisible(i < len(self._urls))
        self.refresh_pixmaps()

    def refresh_pixmaps(self) -> None:
        for url, label in zip(self._urls, self.images, strict=False):
            pixmap = self.cache.get(url, DISK_MAX_EDGE)  # starts loading when missing
            if pixmap is None or pixmap.isNull():
                label.setText("Loading…" if not self.cache.is_failed(url) else "Cannot load")
                continue
            size = label.size()
            label.setPixmap(
                QPixmap(pixmap).scaled(
                    size,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.refresh_pixmaps()


class CompareView(QDialog):
    def __init__(
        self,
        model: GenerationListModel,
        cache: ThumbnailCache,
        group_id: str,
        mark_for: MarkLookup,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.model = model
        self.cache = cache
        self.group_id = group_id
        self.mark_for = mark_for
        self.prompt = QLabel()
        self.prompt.setWordWrap(True)
        self.prompt.setStyleSheet("font-weight: 600; font-size: 14px;")
        self.summary = QLabel()
        self.summary.setObjectName("Muted")
        self.row = QWidget()
        self.columns_layout = QHBoxLayout(self.row)
        self.columns_layout.setContentsMargins(0, 0, 0, 0)
        self.columns_layout.setSpacing(10)
        self.columns: list[CompareColumn] = []
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 16)
        layout.addWidget(self.prompt)
        layout.addWidget(self.summary)
        layout.addWidget(scroll, 1)
        self.refresh()
        self._listening = True
        for signal in (model.dataChanged, model.rowsInserted, model.modelReset):
            signal.connect(self._model_changed)
        cache.thumbnailReady.connect(self._thumbnail_ready)
        cache.failed.connect(self._thumbnail_ready)
        if parent is not None:  # fits the window it opens over (900x600 included)
            self.resize(max(600, parent.width() - 60), max(420, parent.height() - 80))

    def refresh(self) -> None:
        members = group_items(self.model, self.group_id, self.mark_for)
        if members:
            item = members[0][1]
            total = sum(i.options.cost for _, i in members if i.options.model in MODELS)
            self.prompt.setText(" ".join(item.prompt.split()))
            self.summary.setText(f"{len(members)} models  ·  {total} credits in all")
            self.setWindowTitle(f"Compare {len(members)} models")
        while len(self.columns) < len(members):
            column = CompareColumn(self.cache)
            self.columns.append(column)
            self.columns_layout.addWidget(column, 1)
        for i, column in enumerate(self.columns):
            column.setVisible(i < len(members))
            if i < len(members):
                column.show_item(members[i][1])

    def column_titles(self) -> list[str]:
        return [c.title.text() for c in self.columns if not c.isHidden()]

    def _model_changed(self, *_args: QModelIndex | int) -> None:
        self.refresh()

    def _thumbnail_ready(self, _url: str) -> None:
        for column in self.columns:
            column.refresh_pixmaps()

    def done(self, result: int) -> None:
        # The grid's model and cache outlive this dialog: stop listening before it goes.
        if self._listening:
            self._listening = False
            self._disconnect()
        super().done(result)

    def _disconnect(self) -> None:
        for signal, slot in (
            (self.model.dataChanged, self._model_changed),
            (self.model.rowsInserted, self._model_changed),
            (self.model.modelReset, self._model_changed),
            (self.cache.thumbnailReady, self._thumbnail_ready),
            (self.cache.failed, self._thumbnail_ready),
        ):
            signal.disconnect(slot)
