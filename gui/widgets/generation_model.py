"""The grid's data: one row per generation, newest first, keyed by a stable id.

A generation started here is keyed by the engine's `local_id` from the first event (before
any network), and learns its Convex `generation_id` later; one loaded from a session is
keyed by that id. Both indexes are kept so events and records find the same row.

The model listens to the bridge's generation signals itself (`bind`): an engine event
reaches its tile without passing through the controller. It also owns which session the
grid shows (`session_id`), which is what decides whether a started generation gets a tile.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from catalog import MODELS, Options
from gui.engine.convex_types import SessionGeneration
from gui.engine.events import (
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
    Phase,
)
from gui.widgets.bridge import EngineBridge

ItemRole = Qt.ItemDataRole.UserRole + 1
KeyRole = Qt.ItemDataRole.UserRole + 2
StatusRole = Qt.ItemDataRole.UserRole + 3

_PHASE_TEXT = {
    Phase.VALIDATING: "Preparing…",
    Phase.UPLOADING: "Uploading…",
    Phase.RESERVING: "Reserving credits…",
    Phase.SUBMITTING: "Starting…",
    Phase.QUEUED: "In queue",
    Phase.RUNNING: "Generating…",
    Phase.SAVING: "Saving…",
}


@dataclass
class GenerationItem:
    key: str
    prompt: str
    options: Options  # what "reuse settings" and "retry" restore
    images: list[str] = field(default_factory=list)
    status: str = "loading"  # loading | done | error | cancelled
    detail: str = "Preparing…"
    error: str = ""
    retryable: bool = True
    local_id: str | None = None
    generation_id: str | None = None
    session_id: str | None = None
    created_at: float = field(default_factory=time.time)  # seconds since the epoch
    favorites: set[str] = field(default_factory=set)  # image URLs marked as favourites

    @property
    def model_label(self) -> str:
        spec = MODELS.get(self.options.model)
        return spec.label if spec else self.options.model

    @property
    def loading(self) -> bool:
        return self.status == "loading"

    @property
    def cancellable(self) -> bool:
        """Only a generation this client runs (it has a local id) can be cancelled."""
        return self.loading and self.local_id is not None


def item_from_record(record: SessionGeneration) -> GenerationItem:
    """A row from a session's generation, as the Library loads it (times in seconds)."""
    loading = record.is_loading
    return GenerationItem(
        key=record.id,
        prompt=record.prompt,
        # Convex rows do not keep the resolution; reuse falls back to the prompt bar's.
        options=Options(record.model, record.aspect_ratio, record.num_images, None, record.quality),
        images=record.image_urls,
        status="error" if record.error else ("loading" if loading else "done"),
        detail="Generating…" if loading else "",
        error=record.error or "",
        generation_id=record.id or None,
        created_at=record.created_at or time.time(),
        favorites=set(record.favorite_image_urls),
    )


class GenerationListModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[GenerationItem] = []
        # The session the grid shows; None: a new session that does not exist yet.
        self.session_id: str | None = None

    def bind(self, bridge: EngineBridge) -> None:
        """Follow the engine's generations: each event updates its tile directly."""
        bridge.generationStarted.connect(self.add_started)
        bridge.generationProgress.connect(self.apply_progress)
        bridge.generationCompleted.connect(self.apply_completed)
        bridge.generationFailed.connect(self.apply_failed)
        bridge.generationCancelled.connect(self.apply_cancelled)

    def shows(self, session_id: str | None) -> bool:
        """Whether a generation of ``session_id`` belongs in this grid: one creating its
        session shows everywhere, and a new session's grid shows every generation."""
        return session_id is None or self.session_id in (None, session_id)

    # -- Qt API ---------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        if not index.isValid() or index.row() >= len(self._items):
            return None
        item = self._items[index.row()]
        if role == ItemRole:
            return item
        if role == KeyRole:
            return item.key
        if role == StatusRole:
            return item.status
        if role == Qt.ItemDataRole.DisplayRole:
            return item.prompt
        if role == Qt.ItemDataRole.ToolTipRole:
            return item.error or item.prompt
        return None

    # -- lookups --------------------------------------------------------------------------
    def items(self) -> list[GenerationItem]:
        return list(self._items)

    def row_of(self, key: str) -> int:
        for row, item in enumerate(self._items):
            if key in (item.key, item.local_id, item.generation_id):
                return row
        return -1

    def get(self, key: str) -> GenerationItem | None:
        row = self.row_of(key)
        return self._items[row] if row >= 0 else None

    def has_loading(self) -> bool:
        return any(i.loading for i in self._items)

    def all_images(self) -> list[tuple[GenerationItem, int, str]]:
        """Every image in display order: (generation, index within it, url)."""
        return [(item, i, url) for item in self._items for i, url in enumerate(item.images)]

    # -- updates --------------------------------------------------------------------------
    def set_records(
        self, records: Sequence[SessionGeneration], keep_local: Sequence[GenerationItem] = ()
    ) -> None:
        """Replace every row with a session's records (newest first), plus in-flight rows."""
        items = [item_from_record(r) for r in records]
        items.sort(key=lambda i: i.created_at, reverse=True)
        known = {i.generation_id for i in items}
        extra = [i for i in keep_local if i.generation_id not in known or i.generation_id is None]
        self.beginResetModel()
        self._items = extra + items
        self.endResetModel()

    def add_started(self, event: GenerationStarted) -> None:
        if not self.shows(event.session_id):
            return  # another session's: its tile appears when that session is opened
        if self.row_of(event.local_id) >= 0:
            self._update(event.local_id, status="loading", error="")
            return
        item = GenerationItem(
            key=event.local_id,
            local_id=event.local_id,
            prompt=event.prompt,
            options=event.options,
            session_id=event.session_id,
            detail="Resuming…" if event.resumed else "Preparing…",
        )
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._items.insert(0, item)
        self.endInsertRows()

    def _adopt(self, local_id: str, generation_id: str | None) -> int:
        """The row of `local_id`; a row loaded from the session (same generation id) is
        adopted, so a job resumed before the window subscribed still updates its tile."""
        row = self.row_of(local_id)
        if row < 0 and generation_id:
            row = self.row_of(generation_id)
            if row >= 0:
                self._items[row].local_id = local_id
        return row

    def apply_progress(self, event: GenerationProgress) -> None:
        row = self._adopt(event.local_id, event.generation_id)
        if row < 0:
            return
        detail = event.detail or _PHASE_TEXT.get(event.phase, "Generating…")
        if event.phase == Phase.QUEUED and not event.detail and event.queue_position:
            detail = f"In queue #{event.queue_position}"
        changes: dict[str, object] = {"detail": detail}
        if event.generation_id:
            self._drop_duplicate(event.generation_id, keep_row=row)
            changes["generation_id"] = event.generation_id
        if event.session_id:
            changes["session_id"] = event.session_id
        self._update(event.local_id, **changes)

    def apply_completed(self, event: GenerationCompleted) -> None:
        self._adopt(event.local_id, event.generation_id)
        if event.generation_id:
            self._drop_duplicate(event.generation_id, keep_row=self.row_of(event.local_id))
        self._update(
            event.local_id,
            status="done",
            detail="",
            images=list(event.image_urls),
            generation_id=event.generation_id,
        )

    def apply_failed(self, event: GenerationFailed) -> None:
        self._settle_duplicate(event.local_id, event.generation_id)
        self._update(
            event.local_id,
            status="error",
            error=event.message,
            retryable=event.retryable,
            generation_id=event.generation_id,
            session_id=event.session_id,  # a retry reuses the session it made
        )

    def apply_cancelled(self, event: GenerationCancelled) -> None:
        self._settle_duplicate(event.local_id, event.generation_id)
        self._update(
            event.local_id,
            status="cancelled",
            error=event.reason,
            retryable=True,
            generation_id=event.generation_id,
            session_id=event.session_id,
        )

    def _settle_duplicate(self, local_id: str, generation_id: str | None) -> None:
        """A session reloaded while the run was in flight may show its Convex row too."""
        self._adopt(local_id, generation_id)
        if generation_id:
            self._drop_duplicate(generation_id, keep_row=self.row_of(local_id))

    def set_detail(self, key: str, detail: str) -> None:
        self._update(key, detail=detail)

    def set_favorite(self, key: str, url: str, on: bool) -> None:
        item = self.get(key)
        if item is not None:
            favorites = item.favorites | {url} if on else item.favorites - {url}
            self._update(key, favorites=favorites)

    def remove(self, key: str) -> None:
        row = self.row_of(key)
        if row >= 0:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._items[row]
            self.endRemoveRows()

    def _drop_duplicate(self, generation_id: str, keep_row: int) -> None:
        """A record loaded from the session and our live row are the same generation."""
        for row, item in enumerate(self._items):
            if row != keep_row and item.generation_id == generation_id and item.local_id is None:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._items[row]
                self.endRemoveRows()
                return

    def _update(self, key: str, **changes: object) -> None:
        row = self.row_of(key)
        if row < 0:
            return
        item = self._items[row]
        for name, value in changes.items():
            if value is not None or name in ("error",):
                setattr(item, name, value)
        index = self.index(row)
        self.dataChanged.emit(index, index)
