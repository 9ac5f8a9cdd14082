"""Reading an attached picture for its thumbnail, accepting what the engine accepts.

Qt refuses to decode an image whose decoded form is over `QImageReader.allocationLimit()`
(256 MB by default), and a PNG is decoded whole before it is scaled: a valid 16-bit RGB
8000x8000 PNG needs 512 MB as RGBA64, so Qt answers "Unable to read image data", the same
words as for a truncated file. The engine (`gui.engine.attachments`) reads such files with
Pillow and downscales them, so `imagegen generate --image` takes them. Here Qt reads what
fits its limit (fast, scaled while reading); anything else goes to Pillow with the engine's
own rules, which either gives a thumbnail or says precisely what is wrong: not an image,
too many pixels, or damaged / incomplete.

`read_image` uses QImage only (no QPixmap), so it may run on a worker thread.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QImageReader

NOT_AN_IMAGE = "“{name}” is not an image (use PNG, JPEG, WebP, GIF or BMP)."
DAMAGED = "“{name}” is damaged or incomplete, so it cannot be used ({reason})."
BOMB = "“{name}” has too many pixels to open safely (over {limit:.0f} megapixels)."
TOO_MANY_PIXELS = (
    "“{name}” is {w} × {h} pixels; images can be at most {limit:.0f} megapixels "
    "(it is too large to open safely)."
)


def max_pixels() -> int:
    """The engine's limit: Pillow's decompression-bomb threshold."""
    return int(Image.MAX_IMAGE_PIXELS or 178_956_970)


def fits_qt_limit(size: QSize, image_format: QImage.Format) -> bool:
    """Whether Qt will agree to allocate the fully decoded image."""
    limit_mb = QImageReader.allocationLimit()
    if limit_mb <= 0:
        return True
    depth = QImage.toPixelFormat(image_format).bitsPerPixel() or 64  # unknown: assume worst
    needed = size.width() * size.height() * depth // 8
    return needed <= limit_mb * 1024 * 1024


def header_problem(path: Path) -> str:
    """What the file's header alone says is wrong with it ("" when nothing): not an image,
    or too many pixels. Cheap (no pixel is decoded), so it may run on the GUI thread;
    damage further in shows only when `read_image` decodes it."""
    name = path.name
    reader = QImageReader(str(path))
    size = reader.size()
    if not (reader.canRead() and size.isValid()):
        try:
            with warnings.catch_warnings():
                # Over the limit is answered below, with the picture's size.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as img:  # Pillow reads the header only here
                    w, h = img.size
        except Image.DecompressionBombError:
            return BOMB.format(name=name, limit=max_pixels() / 1e6)
        except UnidentifiedImageError:
            return NOT_AN_IMAGE.format(name=name)
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            return DAMAGED.format(name=name, reason=str(exc) or type(exc).__name__)
    else:
        w, h = size.width(), size.height()
    if w * h > max_pixels():
        return TOO_MANY_PIXELS.format(name=name, w=w, h=h, limit=max_pixels() / 1e6)
    return ""


def read_image(path: Path, edge: int) -> tuple[QImage | None, str]:
    """`path` decoded with its long side at most `edge`, or None and a sentence naming the
    file and the problem. The caller has already checked that the file exists."""
    name = path.name
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and size.width() * size.height() > max_pixels():
        return None, TOO_MANY_PIXELS.format(
            name=name, w=size.width(), h=size.height(), limit=max_pixels() / 1e6
        )
    if reader.canRead() and (not size.isValid() or fits_qt_limit(size, reader.imageFormat())):
        if size.isValid() and max(size.width(), size.height()) > edge:
            reader.setScaledSize(size.scaled(edge, edge, Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        if not image.isNull():
            return image, ""
    # Over Qt's allocation limit, a format Qt lacks, or broken: Pillow decides, as the
    # engine will when the request is sent (and names the problem if there is one).
    return _read_with_pillow(path, name, edge)


def _read_with_pillow(path: Path, name: str, edge: int) -> tuple[QImage | None, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as img:
                w, h = img.size
                if w * h > max_pixels():
                    return None, TOO_MANY_PIXELS.format(
                        name=name, w=w, h=h, limit=max_pixels() / 1e6
                    )
                img.load()
                upright = ImageOps.exif_transpose(img) or img
                if max(upright.size) > edge:
                    upright.thumbnail((edge, edge), Image.Resampling.LANCZOS)
                rgba = upright.convert("RGBA")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return None, BOMB.format(name=name, limit=max_pixels() / 1e6)
        except UnidentifiedImageError:
            return None, NOT_AN_IMAGE.format(name=name)
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            return None, DAMAGED.format(name=name, reason=str(exc) or type(exc).__name__)
    data = rgba.tobytes()
    image = QImage(data, rgba.width, rgba.height, rgba.width * 4, QImage.Format.Format_RGBA8888)
    return image.copy(), ""  # copy: `data` is freed when this returns
