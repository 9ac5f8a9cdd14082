"""One image in our store as a client receives it: ``{url, width, height, contentType}``.

The wire form stays a superset of the seed's ``{url}`` (design.md §3), so an older client
reads only ``url``. Width and height are the original's displayed size (EXIF orientation
applied): a client lays out a tile before any pixel arrives and picks the variant
(:mod:`catalog.image_variants`) that covers it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StoredImage:
    url: str
    width: int | None = None
    height: int | None = None
    content_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The wire form; unknown fields are left out rather than sent as null."""
        body: dict[str, Any] = {"url": self.url}
        if self.width is not None and self.height is not None:
            body["width"] = self.width
            body["height"] = self.height
        if self.content_type is not None:
            body["contentType"] = self.content_type
        return body

    @classmethod
    def coerce(cls, value: StoredImage | str | dict[str, Any]) -> StoredImage:
        """From this class, a bare URL (records made before sizes were kept) or the wire
        form read back from a cache or a row."""
        if isinstance(value, StoredImage):
            return value
        if isinstance(value, str):
            return cls(url=value)
        width, height = value.get("width"), value.get("height")
        content_type = value.get("contentType")
        return cls(
            url=str(value["url"]),
            width=int(width) if isinstance(width, int | float) else None,
            height=int(height) if isinstance(height, int | float) else None,
            content_type=content_type if isinstance(content_type, str) else None,
        )


def stored_images(values: Iterable[StoredImage | str | dict[str, Any]]) -> list[StoredImage]:
    return [StoredImage.coerce(v) for v in values]
