"""Image files for dragging out of the app: the original, named from its prompt. Qt-free.

A drag to the desktop, a file manager or another application carries local file paths,
and the receiver reads the file when the drop lands, so the file must exist by then. Each
image gets its own folder (named by a hash of its URL) under one drag-out folder, so the
file itself can carry the prompt's name without two images of one prompt colliding.
Originals already in the engine's image cache are copied at once; the others are fetched
(full resolution, through the fetcher's cache) and written in the background while the
pointer travels.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import tempfile
import time
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from gui.engine.images import ImageFetcher

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")
MAX_NAME_CHARS = 60
# Files older than this are removed when the app starts the next drag-out folder: the
# receiver has long copied them (a file manager copies on drop).
KEEP_S = 24 * 3600


def export_file_name(prompt: str, url: str, number: int | None = None) -> str:
    """``a-red-fox-in-the-snow.png``: the prompt's words in safe characters only (letters,
    digits, '-'; no path separators, dots or shell specials), cut at a word boundary,
    the image's number when the generation has several, and the format's extension."""
    words = re.findall(r"[A-Za-z0-9]+", prompt.lower())
    stem = ""
    for word in words:
        candidate = f"{stem}-{word}" if stem else word
        if len(candidate) > MAX_NAME_CHARS:
            break
        stem = candidate
    stem = stem or (words[0][:MAX_NAME_CHARS] if words else "image")
    if number is not None:
        stem = f"{stem}-{number}"
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return stem + (suffix if suffix in IMAGE_SUFFIXES else ".png")


def default_export_dir() -> Path:
    return Path(tempfile.gettempdir()) / "imagegen-drag-out"


class ImageExporter:
    def __init__(self, fetcher: ImageFetcher, folder: Path | None = None) -> None:
        self.fetcher = fetcher
        self.folder = folder or default_export_dir()

    def target(self, url: str, prompt: str, number: int | None = None) -> Path:
        """Where ``url``'s file is written for a drag (the same path every time)."""
        folder = hashlib.sha256(url.encode()).hexdigest()[:16]
        return self.folder / folder / export_file_name(prompt, url, number)

    def export_cached(self, url: str, target: Path) -> bool:
        """Write ``target`` now when the original is in the cache (or already written)."""
        if target.is_file():
            return True
        cached = self.fetcher.cached_path(url)
        if not cached.is_file():
            return False
        try:
            _copy_into(cached, target)
        except FileNotFoundError:  # evicted between the check and the copy
            return False
        return True

    async def export(self, url: str, target: Path) -> Path:
        """Fetch the original (full resolution) and write it to ``target``."""
        if await asyncio.to_thread(target.is_file):
            return target
        return await self.fetcher.save_to(url, target)

    def prune(self, keep_s: float = KEEP_S) -> int:
        """Remove drag-out files older than ``keep_s``; the number removed."""
        removed = 0
        cutoff = time.time() - keep_s
        if not self.folder.is_dir():
            return 0
        for folder in self.folder.iterdir():
            try:
                if folder.is_dir() and folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
            except OSError:
                continue
        return removed


def _copy_into(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
