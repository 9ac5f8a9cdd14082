"""Thumbnails: decoded off the GUI thread, kept in a byte-bounded LRU and on disk.

`get(url, edge)` answers at once from memory or returns None and starts loading: first a
worker looks for a scaled copy on disk; on a miss the injected `fetch` (the engine's image
fetcher, run by the window through `spawn`) gets the bytes and calls `deliver`, and a worker
decodes them scaled with QImageReader. Only the finished QImage crosses back to the GUI
thread, where it becomes a QPixmap (QPixmap is GUI-thread only) and `thumbnailReady` fires.

A URL that could not be fetched or decoded is remembered as failed (`is_failed`: the grid
paints a broken tile with a reload action instead of asking again on every paint). It is
tried again by `retry(url)` (the user's reload) and by `retry_failed()` (the backend is
reachable again: the bridge's `reconnected`), which re-requests every failed rendition.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QObject,
    QRunnable,
    Qt,
    QThread,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QImage, QImageReader, QPixmap

# 64 MiB holds ~250 thumbnails at 256 px (~20 screens of the grid); 96 MiB left the window
# within a few MiB of its 400 MiB budget while scrolling 10,000 generations, 192 MiB past it.
DEFAULT_BUDGET = 64 * 1024 * 1024
DISK_MAX_EDGE = 768  # larger renditions (the carousel's) are not written to disk


class _Signals(QObject):
    decoded = Signal(str, int, QImage)  # url, edge, image (null on failure)
    missing = Signal(str, int)  # not on disk: the bytes must be fetched


class _DecodeJob(QRunnable):
    def __init__(
        self,
        signals: _Signals,
        url: str,
        edge: int,
        disk: Path | None,
        data: bytes | None,
    ) -> None:
        super().__init__()
        self.signals, self.url, self.edge, self.disk, self.data = (
            signals,
            url,
            edge,
            disk,
            data,
        )

    def run(self) -> None:
        if self.data is None:
            if self.disk is not None and self.disk.is_file():
                image = QImage(str(self.disk))
                if not image.isNull():
                    self.signals.decoded.emit(self.url, self.edge, image)
                    return
            self.signals.missing.emit(self.url, self.edge)
            return
        image = decode_scaled(self.data, self.edge)
        if not image.isNull() and self.disk is not None and self.edge <= DISK_MAX_EDGE:
            self.disk.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.disk.with_suffix(".tmp")
            if image.save(str(tmp), "JPEG" if not image.hasAlphaChannel() else "PNG", 88):
                tmp.replace(self.disk)
        self.signals.decoded.emit(self.url, self.edge, image)


def decode_scaled(data: bytes, edge: int) -> QImage:
    """Decode `data` so its long side is at most `edge` (the decoder scales while reading)."""
    array = QByteArray(data)
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > edge:
        reader.setScaledSize(size.scaled(edge, edge, Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


class ThumbnailCache(QObject):
    thumbnailReady = Signal(str)  # url
    failed = Signal(str)  # url
    retrying = Signal(str)  # url: a failed image is being loaded again

    def __init__(
        self,
        disk_dir: Path | None = None,
        budget_bytes: int = DEFAULT_BUDGET,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._disk_dir = disk_dir
        self._budget = budget_bytes
        self._used = 0
        self._memory: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()
        self._pending: set[tuple[str, int]] = set()
        # url -> the renditions (edges) that failed, so a retry asks for exactly those.
        self._failed: dict[str, set[int]] = {}
        # Our own pool, one thread short of the cores: on a 2-core machine two decoders
        # starved the GUI thread while scrolling (frame p95 ~20 -> ~6 ms with one).
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, QThread.idealThreadCount() - 1))
        self._signals = _Signals()
        self._signals.decoded.connect(self._on_decoded)
        self._signals.missing.connect(self._on_missing)
        # Set by the window: fetch(url, edge) gets the bytes and calls deliver(url, edge, data).
        self.fetch: Callable[[str, int], None] | None = None

    def shutdown(self) -> None:
        """Drop queued decodes and wait for running ones (call it when the window closes),
        so no worker emits through a deleted signal object at exit (that segfaulted)."""
        self._pool.clear()
        self._pool.waitForDone()

    @property
    def used_bytes(self) -> int:
        return self._used

    def get(self, url: str, edge: int = 512) -> QPixmap | None:
        key = (url, edge)
        pixmap = self._memory.get(key)
        if pixmap is not None:
            self._memory.move_to_end(key)
            return pixmap
        if url not in self._failed and key not in self._pending:
            self._load(url, edge)
        return None

    def _load(self, url: str, edge: int) -> None:
        self._pending.add((url, edge))
        self._pool.start(_DecodeJob(self._signals, url, edge, self._disk_path(url, edge), None))

    def retry(self, url: str) -> bool:
        """Load a failed `url` again (every rendition that failed). False if it had not
        failed (it is loaded or still loading)."""
        edges = self._failed.pop(url, None)
        if edges is None:
            return False
        self.retrying.emit(url)
        for edge in sorted(edges):
            if (url, edge) not in self._pending:
                self._load(url, edge)
        return True

    def retry_failed(self) -> int:
        """Load every failed image again (the backend is back). Returns how many."""
        return sum(self.retry(url) for url in list(self._failed))

    def on_connection_changed(self, event: object) -> None:
        """A `ConnectionChanged` event: coming back online retries what failed."""
        if getattr(event, "online", False):
            self.retry_failed()

    def peek(self, url: str) -> QPixmap | None:
        """Any rendition already in memory (for drag previews and attachment thumbs)."""
        for (u, _edge), pixmap in reversed(self._memory.items()):
            if u == url:
                return pixmap
        return None

    def is_failed(self, url: str) -> bool:
        return url in self._failed

    def deliver(self, url: str, edge: int, data: bytes | None) -> None:
        """The fetched bytes for `url` (None: the fetch failed)."""
        if data is None:
            self._fail(url, edge)
            return
        self._pool.start(_DecodeJob(self._signals, url, edge, self._disk_path(url, edge), data))

    def _disk_path(self, url: str, edge: int) -> Path | None:
        if self._disk_dir is None or edge > DISK_MAX_EDGE:
            return None
        digest = hashlib.sha256(f"{url}|{edge}".encode()).hexdigest()
        return self._disk_dir / digest[:2] / f"{digest}.img"

    def _fail(self, url: str, edge: int) -> None:
        self._pending.discard((url, edge))
        self._failed.setdefault(url, set()).add(edge)
        self.failed.emit(url)

    def _on_missing(self, url: str, edge: int) -> None:
        if self.fetch is None:
            self._pending.discard((url, edge))
            return
        self.fetch(url, edge)

    def _on_decoded(self, url: str, edge: int, image: QImage) -> None:
        key = (url, edge)
        if image.isNull():
            self._fail(url, edge)
            return
        self._pending.discard(key)
        pixmap = QPixmap.fromImage(image)
        self._memory[key] = pixmap
        self._used += _cost(pixmap)
        while self._used > self._budget and len(self._memory) > 1:
            _, old = self._memory.popitem(last=False)
            self._used -= _cost(old)
        self.thumbnailReady.emit(url)


def _cost(pixmap: QPixmap) -> int:
    return pixmap.width() * pixmap.height() * 4


def image_to_png(image: QImage) -> bytes:
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(array.data())
