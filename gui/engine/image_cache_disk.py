"""A bounded on-disk cache of files keyed by a string (an image URL), evicted least recently
used. Qt-free and thread-safe: the image fetcher uses it from the event loop and worker
threads, and the thumbnail cache from its decoder threads.

The files' modification time is the recency clock (a read touches it), so the order survives
restarts without an index file: the first use scans the folder once. The budget is enforced
when a file is added, never on a read, and trims to a low-water mark below the budget so a
full cache does not rescan or delete on every insert.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import uuid
from collections import OrderedDict
from pathlib import Path

# Trimming goes down to this share of the budget, so the next few inserts trim nothing.
LOW_WATER = 0.9
_ENTRY_DIR = re.compile(r"^[0-9a-f]{2}$")
_ENTRY_NAME = re.compile(r"^[0-9a-f]{64}(?:\.[a-z]+)?$")


def entry_name(key: str, suffix: str = "") -> str:
    return hashlib.sha256(key.encode()).hexdigest() + suffix


class DiskCache:
    """Files under ``root/<2 hex>/<sha256 of key>[suffix]``, at most ``budget_bytes`` in all.

    Only names of that shape are counted or deleted, so a cache sharing a folder with
    another (the fetcher's variants live in a subfolder of its originals) never touches the
    other's files, and files written by older versions of the app are counted and evicted.
    """

    def __init__(self, root: Path, budget_bytes: int, suffix: str = "") -> None:
        if budget_bytes <= 0:
            raise ValueError("A disk cache needs a positive budget.")
        self.root = Path(root)
        self.budget_bytes = budget_bytes
        self.suffix = suffix
        self._lock = threading.Lock()
        self._entries: OrderedDict[Path, int] | None = None  # oldest first; None: not scanned
        self._total = 0

    def path_for(self, key: str) -> Path:
        name = entry_name(key, self.suffix)
        return self.root / name[:2] / name

    @property
    def total_bytes(self) -> int:
        with self._lock:
            self._scan_locked()
            return self._total

    def get(self, key: str) -> Path | None:
        """The cached file for ``key`` (marked as just used), or None."""
        path = self.path_for(key)
        with self._lock:
            entries = self._scan_locked()
            if path not in entries:
                return None
            try:
                os.utime(path)
            except FileNotFoundError:  # deleted behind our back: forget it
                self._total -= entries.pop(path)
                return None
            entries.move_to_end(path)
        return path

    def temp_path(self) -> Path:
        """A fresh file name for a download in progress (in the cache's folder, so adding
        it is a rename; ``_ENTRY_NAME`` never matches it, so a crash's leftover is not
        counted as an entry and the next scan deletes it)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / f".partial-{uuid.uuid4().hex}"

    def add(self, key: str, source: Path) -> Path:
        """Move the finished file ``source`` in as ``key``'s entry and trim to the budget."""
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        size = source.stat().st_size
        os.replace(source, path)
        with self._lock:
            entries = self._scan_locked()
            self._total -= entries.pop(path, 0)
            entries[path] = size
            self._total += size
            if self._total > self.budget_bytes:
                self._trim_locked(keep=path)
        return path

    def add_bytes(self, key: str, data: bytes) -> Path:
        tmp = self.temp_path()
        try:
            tmp.write_bytes(data)
            return self.add(key, tmp)
        finally:
            tmp.unlink(missing_ok=True)

    def _trim_locked(self, keep: Path) -> None:
        assert self._entries is not None
        target = int(self.budget_bytes * LOW_WATER)
        for path in list(self._entries):
            if self._total <= target:
                break
            if path == keep:  # the file just added is about to be read
                continue
            self._total -= self._entries.pop(path)
            path.unlink(missing_ok=True)

    def _scan_locked(self) -> OrderedDict[Path, int]:
        if self._entries is not None:
            return self._entries
        found: list[tuple[float, Path, int]] = []
        if self.root.is_dir():
            for leftover in self.root.glob(".partial-*"):
                leftover.unlink(missing_ok=True)
            for folder in self.root.iterdir():
                if not (_ENTRY_DIR.match(folder.name) and folder.is_dir()):
                    continue
                for file in folder.iterdir():
                    if not _ENTRY_NAME.match(file.name):
                        continue
                    try:
                        stat = file.stat()
                    except FileNotFoundError:
                        continue
                    found.append((stat.st_mtime, file, stat.st_size))
        found.sort(key=lambda entry: entry[0])
        self._entries = OrderedDict((path, size) for _mtime, path, size in found)
        self._total = sum(self._entries.values())
        return self._entries
