"""Small text helpers shared by the grid, the sidebar and the carousel."""

from __future__ import annotations

import time
from pathlib import PurePosixPath
from urllib.parse import urlsplit

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")


def relative_time(ts: float, now: float | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', 'yesterday', '4 days ago', then a date."""
    now = time.time() if now is None else now
    delta = max(0.0, now - ts)
    if delta < 45:
        return "just now"
    if delta < 3600:
        return f"{max(1, round(delta / 60))} min ago"
    if delta < 86400:
        return f"{round(delta / 3600)} h ago"
    if delta < 2 * 86400:
        return "yesterday"
    if delta < 7 * 86400:
        return f"{int(delta // 86400)} days ago"
    return time.strftime("%d %b %Y", time.localtime(ts))


def ratio_of(aspect_ratio: str | None) -> float:
    """Width / height of "16:9"-style ratios; 1.0 for None or anything unreadable."""
    try:
        a, b = (aspect_ratio or "1:1").split(":")
        return float(a) / float(b)
    except (ValueError, ZeroDivisionError):
        return 1.0


def image_file_name(stem: str, url: str) -> str:
    """A file name for saving the image at `url`, with the extension of its format (JPEG
    outputs must not be saved as .png)."""
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return stem + (suffix if suffix in IMAGE_SUFFIXES else ".png")
