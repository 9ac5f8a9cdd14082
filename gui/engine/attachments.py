"""Turning what the user attached into bytes the backend accepts.

A source is a file path, ``(bytes, name)`` (clipboard, drag from another app) or an
``http(s)`` URL already in our store (a generated image dragged back in, used as is).
Files are checked with Pillow (not an image, damaged, too big, decompression bomb), turned
upright by their EXIF orientation, scaled down to a long edge and re-encoded: JPEG q90 for
photos, PNG when there is transparency. Re-encoding also drops metadata such as GPS tags.
Every message names the file and says what is wrong.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

AttachmentSource = Path | str | tuple[bytes, str]

DEFAULT_LONG_EDGE = 2048
# Larger sources are refused before they are even decoded (the output is far smaller).
MAX_SOURCE_BYTES = 50 * 1024 * 1024
JPEG_QUALITY = 90


class AttachmentError(Exception):
    """An attachment cannot be used; the message is a sentence naming the file."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PreparedAttachment:
    name: str
    # Either bytes to upload (data + content_type) or a URL already in our store.
    data: bytes = b""
    content_type: str = ""
    url: str | None = None
    # Hash of the source bytes and the long edge: the same file is uploaded once.
    content_hash: str = ""
    width: int = 0
    height: int = 0


def is_url(source: AttachmentSource) -> bool:
    return isinstance(source, str) and source.startswith(("http://", "https://"))


def describe_source(source: AttachmentSource) -> str:
    """A short name for messages and the journal."""
    if isinstance(source, tuple):
        return source[1] or "pasted image"
    if is_url(source):
        return str(source)
    return Path(source).name


def _read(source: AttachmentSource, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(source, tuple):
        data, name = source
        name = name or "pasted image"
    else:
        path = Path(source)
        name = path.name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise AttachmentError(f"{name} was not found at {path}.") from None
        except OSError as exc:
            raise AttachmentError(f"{name} could not be read ({exc.strerror}).") from exc
        if size > max_bytes:
            raise AttachmentError(
                f"{name} is {size / 1e6:.1f} MB; attachments can be at most "
                f"{max_bytes / 1e6:.0f} MB."
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AttachmentError(f"{name} could not be read ({exc.strerror}).") from exc
    if len(data) > max_bytes:
        raise AttachmentError(
            f"{name} is {len(data) / 1e6:.1f} MB; attachments can be at most "
            f"{max_bytes / 1e6:.0f} MB."
        )
    if not data:
        raise AttachmentError(f"{name} is empty.")
    return data, name


def _has_alpha(img: Image.Image) -> bool:
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        alpha = img.convert("RGBA").getchannel("A")
        low, _ = alpha.getextrema()
        return bool(low < 255)  # an alpha channel that is fully opaque is not transparency
    return False


def _open(data: bytes, name: str, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow only warns between 1x and 2x MAX_IMAGE_PIXELS; for us both are refusals.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > max_pixels:
                raise Image.DecompressionBombError(f"{w * h} pixels")
            img.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise AttachmentError(
                f"{name} is too large to open safely: its dimensions exceed "
                f"{max_pixels / 1e6:.0f} megapixels (it may be a decompression bomb)."
            ) from None
        except UnidentifiedImageError:
            raise AttachmentError(
                f"{name} is not an image we can read; use PNG, JPEG, WebP or GIF."
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise AttachmentError(f"{name} is damaged or incomplete ({exc}).") from None
    return img


def prepare_attachment(
    source: AttachmentSource,
    long_edge: int = DEFAULT_LONG_EDGE,
    *,
    max_bytes: int = MAX_SOURCE_BYTES,
    max_pixels: int | None = None,
) -> PreparedAttachment:
    """Check, orient, downscale and re-encode one attachment (blocking: run in a thread)."""
    if is_url(source):
        url = str(source)
        return PreparedAttachment(
            name=describe_source(source),
            url=url,
            content_hash="url:" + hashlib.sha256(url.encode()).hexdigest(),
        )
    data, name = _read(source, max_bytes)
    limit = max_pixels or Image.MAX_IMAGE_PIXELS or 178_956_970
    img = _open(data, name, limit)
    img = ImageOps.exif_transpose(img) or img
    if max(img.size) > long_edge:
        img.thumbnail((long_edge, long_edge), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if _has_alpha(img):
        img.convert("RGBA").save(out, "PNG", optimize=True)
        content_type = "image/png"
    else:
        img.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        content_type = "image/jpeg"
    digest = hashlib.sha256(data)
    digest.update(str(long_edge).encode())
    return PreparedAttachment(
        name=name,
        data=out.getvalue(),
        content_type=content_type,
        content_hash=digest.hexdigest(),
        width=img.width,
        height=img.height,
    )


async def prepare_attachment_async(
    source: AttachmentSource, long_edge: int = DEFAULT_LONG_EDGE
) -> PreparedAttachment:
    """`prepare_attachment` off the event loop: decoding a large photo takes a while."""
    return await asyncio.to_thread(prepare_attachment, source, long_edge)
