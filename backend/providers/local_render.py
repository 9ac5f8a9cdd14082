"""Pillow rendering for the local provider: a real image at the model's output size.

The size comes from ``catalog.sizes`` (the provider's documented size where there is one);
the card marks an estimated size with "~" so QA can tell the two apart.

Each image is an abstract gradient whose palette comes from a hash of the prompt (so
different prompts look different and the same prompt looks the same), with a translucent
card naming the prompt, model and parameters. Edit models show their reference images as
fitted tiles. Large outputs are drawn at up to ~2 MP and upscaled, and encoded as JPEG above
4 MP, so even a 4K render stays well under a second.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from catalog import ModelSpec

MAX_DRAW_PIXELS = 2_000_000
JPEG_ABOVE_PIXELS = 4_000_000
# Flux 2 Max asks its provider for output_format "jpeg"; mirror that.
JPEG_MODELS: frozenset[str] = frozenset({"img-flux-2-max", "img-flux-2-max-edit"})
_PARAM_ORDER = ("aspect_ratio", "resolution", "quality")
_MAX_PROMPT_LINES = 8

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGB = tuple[int, int, int]


def output_content_type(model_id: str, width: int, height: int) -> str:
    """The content type :func:`render_image` produces for this model and size."""
    if model_id in JPEG_MODELS or width * height > JPEG_ABOVE_PIXELS:
        return "image/jpeg"
    return "image/png"


def render_image(
    *,
    prompt: str,
    model: ModelSpec,
    width: int,
    height: int,
    index: int,
    total: int,
    params: Mapping[str, Any],
    attachments: Sequence[bytes] = (),
    exact_size: bool = True,
) -> bytes:
    """Render image ``index`` (1-based) of ``total``; PNG or JPEG bytes of exactly w x h.

    ``exact_size=False`` (the provider documents no pixel size) prefixes the size with "~".
    """
    if width <= 0 or height <= 0:
        raise ValueError("The image size must be positive.")
    scale = min(1.0, math.sqrt(MAX_DRAW_PIXELS / (width * height)))
    dw, dh = max(1, round(width * scale)), max(1, round(height * scale))
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()

    canvas = _background(digest, index, dw, dh)
    margin = max(4, round(min(dw, dh) * 0.05))
    card_top_limit = margin
    if attachments:
        split = margin + round((dh - 2 * margin) * 0.52)
        _compose_attachments(canvas, attachments, (margin, margin, dw - margin, split))
        card_top_limit = split + margin // 2
    param_line = _param_line(width, height, params, exact_size)
    canvas = _draw_card(
        canvas, prompt, model.label, param_line, f"image {index}/{total}", margin, card_top_limit
    )

    if (dw, dh) != (width, height):
        canvas = canvas.resize((width, height), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    if output_content_type(model.id, width, height) == "image/jpeg":
        canvas.save(out, "JPEG", quality=88)
    else:
        # Level 1: the gradient compresses well anyway, and encoding time dominates.
        canvas.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _param_line(width: int, height: int, params: Mapping[str, Any], exact: bool = True) -> str:
    parts = [("" if exact else "~") + f"{width}x{height}"]
    parts += [str(params[k]) for k in _PARAM_ORDER if params.get(k)]
    return " · ".join(parts)


def _palette(digest: bytes, index: int) -> list[RGB]:
    """Three related colours: the prompt picks the hue, the image index nudges it."""
    base = digest[0] / 255 + (index - 1) * 0.07
    spread = 0.12 + digest[1] / 255 * 0.35
    colours: list[RGB] = []
    for i, (sat, val) in enumerate(((0.65, 0.55), (0.55, 0.85), (0.75, 0.7))):
        r, g, b = colorsys.hsv_to_rgb((base + i * spread) % 1.0, sat, val)
        colours.append((round(r * 255), round(g * 255), round(b * 255)))
    return colours


def _background(digest: bytes, index: int, dw: int, dh: int) -> Image.Image:
    """A soft gradient with blurred blobs, drawn tiny and upscaled (smooth and cheap)."""
    rng = random.Random(int.from_bytes(digest[:8], "big") + index)
    c1, c2, c3 = _palette(digest, index)
    sw = max(8, round(160 * dw / max(dw, dh)))
    sh = max(8, round(160 * dh / max(dw, dh)))
    mask = Image.linear_gradient("L").rotate(
        rng.uniform(0, 360), resample=Image.Resampling.BILINEAR
    )
    mask = mask.resize((sw, sh), Image.Resampling.BILINEAR)
    small = Image.composite(Image.new("RGB", (sw, sh), c1), Image.new("RGB", (sw, sh), c2), mask)
    blobs = Image.new("RGBA", (sw, sh), (0, 0, 0, 0))
    draw = ImageDraw.Draw(blobs)
    for _ in range(5 + digest[2] % 5):
        r = rng.uniform(0.12, 0.4) * max(sw, sh)
        cx, cy = rng.uniform(0, sw), rng.uniform(0, sh)
        colour = rng.choice((c1, c2, c3))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*colour, rng.randint(90, 170)))
    small = Image.alpha_composite(small.convert("RGBA"), blobs)
    small = small.filter(ImageFilter.GaussianBlur(max(sw, sh) / 14)).convert("RGB")
    canvas = small.resize((dw, dh), Image.Resampling.BICUBIC)

    # A few crisp rings at full draw resolution so it reads as an image, not a blur.
    rings = Image.new("RGBA", (dw, dh), (0, 0, 0, 0))
    ring_draw = ImageDraw.Draw(rings)
    line = max(1, round(min(dw, dh) / 300))
    for _ in range(3):
        r = rng.uniform(0.15, 0.6) * max(dw, dh)
        cx, cy = rng.uniform(0, dw), rng.uniform(0, dh)
        ring_draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(255, 255, 255, 60), width=line)
    return Image.alpha_composite(canvas.convert("RGBA"), rings).convert("RGB")


def _font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=max(8, size))
    except (TypeError, OSError):  # Pillow without FreeType: fixed-size bitmap font
        return ImageFont.load_default()


def _text_width(font: Font, text: str) -> float:
    return float(font.getlength(text))


def _prefix_len(text: str, font: Font, max_w: float, suffix: str = "") -> int:
    """The longest ``n`` with ``text[:n] + suffix`` no wider than ``max_w`` (binary search)."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _text_width(font, text[:mid] + suffix) <= max_w:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _fit(text: str, font: Font, max_w: float) -> str:
    """``text`` cut with an ellipsis so it fits ``max_w``."""
    if _text_width(font, text) <= max_w:
        return text
    return text[: _prefix_len(text, font, max_w, "…")].rstrip() + "…"


def _wrap(text: str, font: Font, max_w: float, max_lines: int) -> list[str]:
    """Greedy word wrap; over-long words are split; the last line gets an ellipsis."""
    # Only ~max_lines lines can show: never measure more text than could possibly fit.
    text = text[: max_lines * 200]
    lines: list[str] = []
    current = ""
    words = text.split()
    for i, word in enumerate(words):
        candidate = f"{current} {word}" if current else word
        if _text_width(font, candidate) <= max_w:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while len(lines) < max_lines and len(current) > 1 and _text_width(font, current) > max_w:
            cut = max(1, _prefix_len(current, font, max_w))
            lines.append(current[:cut])
            current = current[cut:]
        if len(lines) >= max_lines:
            rest = " ".join([lines[max_lines - 1], *lines[max_lines:], current, *words[i + 1 :]])
            return [*lines[: max_lines - 1], _fit(rest, font, max_w)]
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        rest = " ".join(lines[max_lines - 1 :])
        lines = [*lines[: max_lines - 1], _fit(rest, font, max_w)]
    return lines


def _draw_card(
    canvas: Image.Image,
    prompt: str,
    label: str,
    param_line: str,
    counter: str,
    margin: int,
    top_limit: int,
) -> Image.Image:
    """A dark translucent card anchored at the bottom, as tall as its text needs."""
    dw, dh = canvas.size
    base = min(dw, dh)
    title_f, body_f, small_f = (
        _font(round(base * 0.06)),
        _font(round(base * 0.045)),
        _font(round(base * 0.035)),
    )
    pad = max(4, round(base * 0.035))
    gap = max(2, round(base * 0.015))
    title_h, body_h, small_h = (_line_height(f) for f in (title_f, body_f, small_f))
    inner_w = dw - 2 * margin - 2 * pad
    max_card_h = max(dh - margin - top_limit, title_h + small_h + body_h + 2 * pad)
    fixed_h = 2 * pad + title_h + small_h + 2 * gap
    max_lines = max(1, min(_MAX_PROMPT_LINES, (max_card_h - fixed_h) // body_h))
    lines = _wrap(prompt.strip() or "(no prompt)", body_f, inner_w, max_lines)
    card_h = fixed_h + body_h * len(lines)
    x0, y1 = margin, dh - margin
    y0 = max(0, y1 - card_h)

    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rounded_rectangle((x0, y0, dw - margin, y1), radius=pad, fill=(12, 14, 24, 178))
    counter_w = _text_width(small_f, counter)
    y = y0 + pad
    draw.text(
        (x0 + pad, y),
        _fit(label, title_f, inner_w - counter_w - gap * 2),
        font=title_f,
        fill=(255, 255, 255, 255),
    )
    draw.text(
        (dw - margin - pad - counter_w, y + (title_h - small_h) // 2),
        counter,
        font=small_f,
        fill=(220, 224, 235, 230),
    )
    y += title_h + gap
    for line in lines:
        draw.text((x0 + pad, y), line, font=body_f, fill=(240, 242, 248, 255))
        y += body_h
    y += gap
    draw.text(
        (x0 + pad, y), _fit(param_line, small_f, inner_w), font=small_f, fill=(190, 198, 215, 235)
    )
    return Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")


def _line_height(font: Font) -> int:
    top, bottom = font.getbbox("Ag|")[1::2]
    return max(1, round((bottom - top) * 1.3))


def _grid(n: int, box_w: int, box_h: int) -> tuple[int, int]:
    """Columns and rows that give ``n`` tiles the largest square-ish cell in the box."""
    best = (1, n)
    best_cell = 0.0
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        cell = min(box_w / cols, box_h / rows)
        if cell > best_cell:
            best, best_cell = (cols, rows), cell
    return best


def _decode(data: bytes, size: tuple[int, int]) -> Image.Image | None:
    try:
        img = Image.open(io.BytesIO(data))
        img.draft("RGB", size)  # JPEG: decode at reduced scale, much faster
        img = ImageOps.exif_transpose(img)
        if img.mode in ("RGBA", "LA", "P"):
            rgba = img.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (245, 245, 245))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        return img.convert("RGB")
    except Exception:  # any undecodable upload becomes a placeholder tile, not a crash
        return None


def _compose_attachments(
    canvas: Image.Image, attachments: Sequence[bytes], box: tuple[int, int, int, int]
) -> None:
    """Paste each reference image, fitted and centred, into a grid filling ``box``."""
    x0, y0, x1, y1 = box
    n = len(attachments)
    cols, rows = _grid(n, x1 - x0, y1 - y0)
    cell_w, cell_h = (x1 - x0) // cols, (y1 - y0) // rows
    gap = max(2, min(cell_w, cell_h) // 25)
    border = max(1, gap // 2)
    label_f = _font(max(8, min(cell_w, cell_h) // 12))
    draw = ImageDraw.Draw(canvas)
    for i, data in enumerate(attachments):
        cx = x0 + (i % cols) * cell_w
        cy = y0 + (i // cols) * cell_h
        fit = (max(1, cell_w - 2 * gap - 2 * border), max(1, cell_h - 2 * gap - 2 * border))
        img = _decode(data, fit)
        if img is None:
            tile = Image.new("RGB", (fit[0], max(1, fit[1] // 2)), (60, 60, 70))
            ImageDraw.Draw(tile).text((4, 4), "unreadable image", font=label_f, fill="white")
        else:
            tile = ImageOps.contain(img, fit, Image.Resampling.BILINEAR)
        px = cx + (cell_w - tile.width) // 2
        py = cy + (cell_h - tile.height) // 2
        draw.rectangle(
            (px - border, py - border, px + tile.width + border - 1, py + tile.height + border - 1),
            fill=(255, 255, 255),
        )
        canvas.paste(tile, (px, py))
        draw.text(
            (px + border * 2, py + border),
            f"@Image{i + 1}",
            font=label_f,
            fill=(255, 255, 255),
            stroke_width=max(1, border),
            stroke_fill=(0, 0, 0),
        )
