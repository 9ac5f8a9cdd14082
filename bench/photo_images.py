"""Images with photographic detail at real output sizes, made with Pillow and cached on disk.

Smooth gradients (what the local provider renders) compress to almost nothing, so a
benchmark of them never sees what real outputs cost: a 4096x4096 photograph is several MB as
a JPEG at quality 92 and tens of MB as a PNG. These images are built like a photograph's
statistics, not its content: large soft colour regions (sky, ground, light), hard-edged
shapes (objects, horizons) softened by a lens-like blur, texture at several scales
(multi-octave value noise) and per-pixel sensor grain. The grain and texture decide how
well the file compresses; their strengths are set so the encoded sizes land where real
outputs do.

Making a 4K image and encoding it as PNG takes seconds, so every image is cached under
:data:`CACHE_DIR` by size, format and seed, and later runs read it back.
"""

from __future__ import annotations

import io
import random
import tempfile
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

CACHE_DIR = Path(tempfile.gettempdir()) / "imagegen-bench-photos" / "v1"
JPEG_QUALITY = 92
# Tuned so a 4096x4096 image is ~7 MB as a JPEG at q92 and ~23 MB as a PNG (real 4K outputs:
# JPEG 3-8 MB, PNG tens of MB); the benchmark prints the sizes it used.
_GRAIN = 0.10  # share of the per-pixel grain in the final luminance
_TEXTURE_OCTAVES = ((4, 0.22), (16, 0.18), (64, 0.14))  # (cell size in px, weight)


def _noise(rng: random.Random, size: tuple[int, int], mode: str = "L") -> Image.Image:
    """Uniform noise (seeded: ``randbytes`` is fast and reproducible, unlike effect_noise)."""
    bands = len(mode)
    return Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * bands))


def _value_noise(
    rng: random.Random, size: tuple[int, int], cell: int, mode: str = "L"
) -> Image.Image:
    """Noise whose features are ``cell`` pixels across: coarse noise scaled up smoothly."""
    small = (max(2, size[0] // cell + 2), max(2, size[1] // cell + 2))
    return _noise(rng, small, mode).resize(size, Image.Resampling.BICUBIC)


def _shapes(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Hard-edged objects: polygons, ellipses and a horizon, in a palette of the scene."""
    w, h = size
    layer = Image.new("RGB", size)
    draw = ImageDraw.Draw(layer)
    horizon = int(h * rng.uniform(0.35, 0.7))
    draw.rectangle((0, 0, w, horizon), fill=_colour(rng, 150, 230))
    draw.rectangle((0, horizon, w, h), fill=_colour(rng, 40, 140))
    for _ in range(60):
        x, y = rng.randrange(w), rng.randrange(h)
        r = int(min(w, h) * rng.uniform(0.01, 0.18))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r // 2, x + r, y + r // 2), fill=_colour(rng, 20, 250))
        else:
            points = [
                (x + rng.randint(-r, r), y + rng.randint(-r, r)) for _ in range(rng.randint(3, 7))
            ]
            draw.polygon(points, fill=_colour(rng, 20, 250))
    for _ in range(30):  # thin lines: branches, wires, window frames
        x, y = rng.randrange(w), rng.randrange(h)
        length = int(min(w, h) * rng.uniform(0.05, 0.4))
        draw.line(
            (x, y, x + rng.randint(-length, length), y + rng.randint(-length, length)),
            fill=_colour(rng, 0, 255),
            width=max(1, w // 1500),
        )
    # A lens renders edges over a pixel or two, not as aliased steps.
    return layer.filter(ImageFilter.GaussianBlur(max(0.6, w / 4096)))


def _colour(rng: random.Random, low: int, high: int) -> tuple[int, int, int]:
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def photo(width: int, height: int, seed: int) -> Image.Image:
    """An RGB image of exactly ``width`` x ``height`` with a photograph's kind of detail."""
    rng = random.Random(seed)
    size = (width, height)
    # Soft light over the scene: a few very large colour regions.
    light = _value_noise(rng, size, max(width, height) // 3, "RGB")
    image = Image.blend(_shapes(rng, size), light, 0.35)
    # Texture (leaves, fabric, stone) at several scales, as luminance.
    texture = Image.new("L", size, 128)
    for cell, weight in _TEXTURE_OCTAVES:
        texture = Image.blend(texture, _value_noise(rng, size, cell), weight)
    grain = _noise(rng, size)
    luminance = Image.blend(texture, grain, _GRAIN / (1 - _TEXTURE_OCTAVES[0][1]))
    # Overlay-like: mid-grey leaves the colour alone, lighter or darker texture shifts it.
    shade = Image.merge("RGB", (luminance,) * 3)
    return ImageChops.add(image, shade, scale=1.0, offset=-128)


def encode(image: Image.Image, fmt: str) -> bytes:
    """``fmt`` is "jpeg" (quality 92, as providers serve) or "png" (Pillow's default level)."""
    out = io.BytesIO()
    if fmt == "jpeg":
        image.save(out, "JPEG", quality=JPEG_QUALITY)
    elif fmt == "png":
        image.save(out, "PNG")
    else:
        raise ValueError(f"{fmt!r} is not an output format here (jpeg or png)")
    return out.getvalue()


def photo_bytes(width: int, height: int, fmt: str, seed: int, cache_dir: Path = CACHE_DIR) -> bytes:
    """The encoded image, from the cache when an earlier run made it."""
    path = cache_dir / f"{width}x{height}-{seed}.{fmt}"
    if path.is_file():
        return path.read_bytes()
    data = encode(photo(width, height, seed), fmt)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # a run killed mid-write leaves no truncated image behind
    return data
