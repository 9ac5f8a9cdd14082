"""Attached pictures' thumbnails, decoded off the GUI thread.

A picture can take seconds to decode (a 16-bit 8000 px PNG goes through Pillow), and the
window must not freeze while it does. `AttachmentReader.read(path, ticket)` decodes in a
small thread pool with `image_probe.read_image` (QImage only, so it may run there); `done`
fires on the GUI thread with the ticket, the image (null on failure) and the sentence
naming the problem. The caller turns the image into a QPixmap (GUI thread only).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from gui.widgets.image_probe import read_image

# One at a time: two decoders on two cores starved the GUI thread (docs/benchmarks.md,
# the grid's thumbnails); a drop of many files fills the strip one by one instead.
READ_THREADS = 1


class _Signals(QObject):
    done = Signal(object, QImage, str)  # ticket, image (null on failure), error sentence


class _ReadJob(QRunnable):
    def __init__(self, signals: _Signals, path: Path, edge: int, ticket: object) -> None:
        super().__init__()
        self.signals, self.path, self.edge, self.ticket = signals, path, edge, ticket

    def run(self) -> None:
        try:
            image, error = read_image(self.path, self.edge)
        except Exception as exc:  # said to the user, never lost in Qt
            image, error = None, f"“{self.path.name}” could not be read ({exc})."
        self.signals.done.emit(self.ticket, image if image is not None else QImage(), error)


class AttachmentReader(QObject):
    done = Signal(object, QImage, str)  # ticket, image (null on failure), error sentence

    def __init__(self, edge: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._edge = edge
        # The pool before the signals: children are deleted in creation order, and the
        # pool's deletion waits for its jobs, which emit through the signals.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(READ_THREADS)
        self._signals = _Signals(self)
        self._signals.done.connect(self.done)  # queued: delivered on this (GUI) thread

    def read(self, path: Path, ticket: object) -> None:
        self._pool.start(_ReadJob(self._signals, path, self._edge, ticket))

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until every read has ended (tests, shutdown); False on timeout."""
        return bool(self._pool.waitForDone(timeout_ms))
