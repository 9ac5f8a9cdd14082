"""Thumbnails and the carousel's renditions: decoded off the GUI thread, kept in memory
under byte budgets, small ones also on disk.

`get(url, edge)` answers at once from memory or returns None and starts loading: first a
worker looks for a scaled copy on disk; on a miss the injected `fetch` (the engine's image
fetcher, run by the window through `spawn`: it asks for the server's variant covering
`edge`, or the original past the largest variant) gets the bytes and calls `deliver`, and a
worker decodes them scaled with QImageReader. Only the finished QImage crosses back to the
GUI thread, where it becomes a QPixmap (QPixmap is GUI-thread only) and `thumbnailReady`
fires.

Memory has two budgets: grid and sidebar renditions (up to DISK_MAX_EDGE) and the carousel's
large ones (its 1536 px variant, and ORIGINAL_EDGE for the original when zoomed or copied),
so paging the carousel through 4K images never evicts the grid's thumbnails, and a few 64 MiB
originals cannot grow the process past its budget. `release_large()` drops the latter when
the carousel closes.

A URL that could not be fetched or decoded is remembered as failed (`is_failed`: the grid
paints a broken tile with a reload action instead of asking again on every paint). It is
tried again by `retry(url)` (the user's reload) and by `retry_failed()` (the backend is
reachable again: the bridge's `reconnected`), which re-requests every failed rendition.
"""

from __future__ import annotations

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

from gui.engine.image_cache_disk import DiskCache

# 64 MiB holds ~250 thumbnails at 256 px (~20 screens of the grid); 96 MiB left the window
# within a few MiB of its 400 MiB budget while scrolling 10,000 generations, 192 MiB past it.
DEFAULT_BUDGET = 64 * 1024 * 1024
# The carousel's renditions: a zoomed 4K original (64 MiB decoded) beside the shown image's
# and its neighbours' 1536 px variants (9 MiB each), or two originals. With the grid's
# 64 MiB and a decode in flight (bytes + image) the window stays within the issue's
# 500 MiB with the carousel open on 4K images.
LARGE_BUDGET = 128 * 1024 * 1024
DISK_MAX_EDGE = 768  # larger renditions (the carousel's) are not written to disk
# "The original": past every variant edge, so the fetcher asks for the original; decoding
# is capped here (providers' largest outputs are 4096 px) so one image stays < 150 MiB.
ORIGINAL_EDGE = 6144
# Scaled disk copies are worth keeping only when they spare decoding a much larger source:
# an original from a deployment without variants (a 4K decode is ~100 ms and the original
# may be evicted from the fetcher's cache). A server variant is already about the tile's
# size and cached by the fetcher, so copying it again would only double the disk use.
DISK_COPY_MIN_RATIO = 2
DISK_BUDGET = 256 * 1024 * 1024


class _Signals(QObject):
    decoded = Signal(str, int, QImage)  # url, edge, image (null on failure)
    missing = Signal(str, int)  # not on disk: the bytes must be fetched


class _DecodeJob(QRunnable):
    def __init__(
        self,
        signals: _Signals,
        url: str,
        edge: int,
        disk: DiskCache | None,
        data: bytes | None,
    ) -> None:
        super().__init__()
        self.signals, self.url, self.edge, self.disk, self.data = (
            signals,
            url,
            edge,
            disk if edge <= DISK_MAX_EDGE else None,
            data,
        )

    def run(self) -> None:
        key = f"{self.url}|{self.edge}"
        if self.data is None:
            path = self.disk.get(key) if self.disk is not None else None
            if path is not None:
                image = QImage(str(path))
                if not image.isNull():
                    self.signals.decoded.emit(self.url, self.edge, image)
                    return
            self.signals.missing.emit(self.url, self.edge)
            return
        image, source_edge = _read_scaled(self.data, self.edge)
        self.data = None  # the encoded bytes (up to 64 MB) are not needed any more
        if (
            not image.isNull()
            and self.disk is not None
            and source_edge > DISK_COPY_MIN_RATIO * self.edge
        ):
            tmp = self.disk.temp_path()
            if image.save(str(tmp), "JPEG" if not image.hasAlphaChannel() else "PNG", 88):
                self.disk.add(key, tmp)
            tmp.unlink(missing_ok=True)
        self.signals.decoded.emit(self.url, self.edge, image)


def _read_scaled(data: bytes, edge: int) -> tuple[QImage, int]:
    """The image scaled so its long side is at most `edge` (the decoder scales while
    reading), and the source's long side."""
    array = QByteArray(data)
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)
    size = reader.size()
    source_edge = max(size.width(), size.height()) if size.isValid() else 0
    if source_edge > edge:
        reader.setScaledSize(size.scaled(edge, edge, Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read(), source_edge


def decode_scaled(data: bytes, edge: int) -> QImage:
    """Decode `data` so its long side is at most `edge` (the decoder scales while reading)."""
    return _read_scaled(data, edge)[0]


class _PixmapLru:
    """Pixmaps by (url, edge), least recently used first, at most `budget` bytes (one entry
    is kept even when it alone is larger)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.items: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()

    def get(self, key: tuple[str, int]) -> QPixmap | None:
        pixmap = self.items.get(key)
        if pixmap is not None:
            self.items.move_to_end(key)
        return pixmap

    def put(self, key: tuple[str, int], pixmap: QPixmap) -> None:
        old = self.items.pop(key, None)
        if old is not None:
            self.used -= _cost(old)
        self.items[key] = pixmap
        self.used += _cost(pixmap)
        while self.used > self.budget and len(self.items) > 1:
            _, evicted = self.items.popitem(last=False)
            self.used -= _cost(evicted)

    def clear(self) -> None:
        self.items.clear()
        self.used = 0


class ThumbnailCache(QObject):
    thumbnailReady = Signal(str)  # url
    failed = Signal(str)  # url
    retrying = Signal(str)  # url: a failed image is being loaded again

    def __init__(
        self,
        disk_dir: Path | None = None,
        budget_bytes: int = DEFAULT_BUDGET,
        parent: QObject | None = None,
        *,
        large_budget_bytes: int = LARGE_BUDGET,
        disk_budget_bytes: int = DISK_BUDGET,
    ) -> None:
        super().__init__(parent)
        self._disk = DiskCache(disk_dir, disk_budget_bytes, ".img") if disk_dir else None
        self._small = _PixmapLru(budget_bytes)
        self._large = _PixmapLru(large_budget_bytes)
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
        return self._small.used + self._large.used

    @property
    def large_bytes(self) -> int:
        """Memory held by the carousel's renditions (bounded by its own budget)."""
        return self._large.used

    def _lru(self, edge: int) -> _PixmapLru:
        return self._small if edge <= DISK_MAX_EDGE else self._large

    def get(self, url: str, edge: int = 512) -> QPixmap | None:
        key = (url, edge)
        pixmap = self._lru(edge).get(key)
        if pixmap is not None:
            return pixmap
        if url not in self._failed and key not in self._pending:
            self._load(url, edge)
        return None

    def lookup(self, url: str, edge: int) -> QPixmap | None:
        """The rendition if it is in memory, without loading it."""
        return self._lru(edge).get((url, edge))

    def is_pending(self, url: str, edge: int) -> bool:
        return (url, edge) in self._pending

    def release_large(self) -> None:
        """Drop the carousel's renditions (it closed): their memory goes back at once."""
        self._large.clear()

    def _load(self, url: str, edge: int) -> None:
        self._pending.add((url, edge))
        self._pool.start(_DecodeJob(self._signals, url, edge, self._disk, None))

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
        """The largest rendition already in memory (for drag previews, attachment thumbs and
        the carousel's placeholder)."""
        for lru in (self._large, self._small):
            best: QPixmap | None = None
            for (u, _edge), pixmap in lru.items.items():
                if u == url and (best is None or pixmap.width() > best.width()):
                    best = pixmap
            if best is not None:
                return best
        return None

    def is_failed(self, url: str) -> bool:
        return url in self._failed

    def deliver(self, url: str, edge: int, data: bytes | None) -> None:
        """The fetched bytes for `url` (None: the fetch failed)."""
        if data is None:
            self._fail(url, edge)
            return
        self._pool.start(_DecodeJob(self._signals, url, edge, self._disk, data))

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
        self._lru(edge).put(key, QPixmap.fromImage(image))
        self.thumbnailReady.emit(url)


def _cost(pixmap: QPixmap) -> int:
    return pixmap.width() * pixmap.height() * 4


def image_to_png(image: QImage) -> bytes:
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(array.data())
