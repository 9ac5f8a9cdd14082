"""Display-size variants of one image, made with Pillow: original bytes in, WebP bytes out.

Pure and synchronous (the callers run it in a worker thread with ``asyncio.to_thread``);
no store, no Qt. The edges and the format are :mod:`catalog.image_variants`' convention.

4K outputs pass through here on every generation, so the work is kept small: a JPEG is
decoded at a reduced scale (``Image.draft``: the decoder itself skips the detail the
largest variant cannot show), and each smaller variant is reduced from the previous one
rather than from the original.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from catalog.image_variants import VARIANT_EDGES

# The most pixels we decode: an 8K square. A real output is at most 4096 x 4096 (16.8 MP);
# a header claiming far more is a decompression bomb, refused before anything is decoded.
MAX_SOURCE_PIXELS = 8192 * 8192
WEBP_QUALITY = 80
# libwebp's effort, 0 (fast) to 6 (small). On a 1536 px photographic variant, 2 encodes in
# a third of the time of the default 4 for about the same bytes (measured: 114 vs 116 KB).
WEBP_METHOD = 2
# EXIF orientations that turn the picture a quarter: the displayed width is the stored height.
_QUARTER_TURNS = {5, 6, 7, 8}
_EXIF_ORIENTATION = 0x0112
_DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    Image.DecompressionBombError,
)


class VariantError(Exception):
    """The image cannot be made into variants; ``message`` is a sentence for a log or user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ImageVariants:
    """The original's displayed size (EXIF orientation applied) and ``{edge: WebP bytes}``."""

    width: int
    height: int
    variants: dict[int, bytes]


def fit(width: int, height: int, edge: int) -> tuple[int, int]:
    """The size with long side ``edge`` and the same proportions; never larger than the
    image itself (a variant of a small image is that image re-encoded)."""
    long_side = max(width, height)
    if edge >= long_side:
        return width, height
    scale = edge / long_side
    return max(1, round(width * scale)), max(1, round(height * scale))


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not isinstance(data, bytes | bytearray | memoryview) or not data:
        raise VariantError("There is no image data.")
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # Pillow's own limit, hit at the header
        raise VariantError(f"The image has more pixels than the {max_pixels} we decode.") from exc
    except _DECODE_ERRORS as exc:
        raise VariantError("The file is not an image we can read.") from exc
    width, height = img.size
    if width < 1 or height < 1 or width * height > max_pixels:
        img.close()
        raise VariantError(
            f"The image is {width} x {height} pixels, more than the {max_pixels} we decode."
        )
    return img


def _orientation(img: Image.Image) -> object:
    # A PNG's EXIF is the eXIf chunk ahead of its pixels (read with the header); Pillow's
    # getexif() would otherwise decode every pixel looking for one placed after them, and
    # that decode of each rendered 2K PNG was a tenth of a loaded server's time.
    if img.format == "PNG" and "exif" not in img.info:
        return None
    return img.getexif().get(_EXIF_ORIENTATION)


def _oriented_size(img: Image.Image) -> tuple[int, int]:
    try:
        orientation = _orientation(img)
    except _DECODE_ERRORS:  # a broken EXIF block must not cost the picture
        orientation = None
    width, height = img.size
    return (height, width) if orientation in _QUARTER_TURNS else (width, height)


def image_size(data: bytes, max_pixels: int = MAX_SOURCE_PIXELS) -> tuple[int, int]:
    """The displayed ``(width, height)`` from the header alone (nothing is decoded)."""
    with _open(data, max_pixels) as img:
        return _oriented_size(img)


def _draft_for(img: Image.Image, edge: int) -> None:
    """Let a JPEG decoder scale down by 1/2, 1/4 or 1/8 while staying at least as large as
    the ``edge`` variant (a no-op for other formats)."""
    width, height = img.size
    target = fit(width, height, edge)
    if target != (width, height):
        # draft() keeps both sides >= the requested ones; +1 guards against rounding down.
        img.draft("RGB", (target[0] + 1, target[1] + 1))


def _sixteen_bit_to_8(img: Image.Image) -> Image.Image:
    """16-bit greyscale (PNG) to 8 bits by scaling, not clipping: convert("L") alone would
    turn everything above 255 of 65535 white."""
    wide = img if img.mode == "I" else img.convert("I")
    return wide.point(lambda value: value * (1 / 256)).convert("L")


def _webp_ready(img: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has any transparency (WebP keeps alpha)."""
    mode = img.mode
    if mode in ("RGB", "RGBA"):
        return img
    has_alpha = "transparency" in img.info or mode in ("PA", "LA", "La", "RGBa")
    if mode.startswith("I;16") or mode == "I":
        img = _sixteen_bit_to_8(img)
    elif mode == "F":
        img = img.convert("L")
    # Palette, 1-bit, greyscale, CMYK, YCbCr, LAB...: Pillow's conversions handle each.
    return img.convert("RGBA" if has_alpha else "RGB")


def _encode(img: Image.Image, icc_profile: bytes | None) -> bytes:
    buf = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    # No EXIF: the orientation is already applied, and a copied tag would turn it twice.
    img.save(buf, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, **extra)
    return buf.getvalue()


def make_variants(
    data: bytes,
    edges: Iterable[int] = VARIANT_EDGES,
    *,
    max_pixels: int = MAX_SOURCE_PIXELS,
) -> ImageVariants:
    """Every variant in ``edges`` of the image in ``data``; VariantError when it cannot be
    read (not an image, truncated, too many pixels)."""
    wanted = sorted(set(edges), reverse=True)
    if not wanted or min(wanted) < 1:
        raise ValueError(f"edges must be positive pixel counts, got {wanted}")
    with _open(data, max_pixels) as img:
        width, height = _oriented_size(img)
        # The ICC profile describes RGB colours; after any other mode's conversion it lies.
        icc = img.info.get("icc_profile") if img.mode in ("RGB", "RGBA") else None
        _draft_for(img, wanted[0])
        try:
            img.seek(0)  # an animation's variant is its first frame
            current = _webp_ready(ImageOps.exif_transpose(img))
        except _DECODE_ERRORS as exc:
            raise VariantError("The image is damaged or truncated.") from exc
    variants: dict[int, bytes] = {}
    encoded: dict[tuple[int, int], bytes] = {}
    for edge in wanted:
        size = fit(width, height, edge)
        if current.size != size:
            # From the previous (larger) variant, not the original; reducing_gap lets
            # Pillow box-reduce by an integer factor first, then resample the rest finely.
            current = current.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
        if size not in encoded:
            encoded[size] = _encode(current, icc)
        variants[edge] = encoded[size]
    return ImageVariants(width=width, height=height, variants=variants)


def make_variant(data: bytes, edge: int, *, max_pixels: int = MAX_SOURCE_PIXELS) -> bytes:
    """One variant (the local store makes a missing one when it is first asked for)."""
    return make_variants(data, (edge,), max_pixels=max_pixels).variants[edge]
