"""The exact pixel size of a model's output for an aspect ratio and resolution.

The local provider renders at this size, so what the desktop client shows for a local
generation matches what the real provider would return:

* GPT-Image 1 / 1.5 (and their edits) have three fixed sizes: 1024x1024, 1536x1024 and
  1024x1536. GPT-Image 1 Edit takes no aspect ratio and answers 1024x1024.
* Models with a resolution option (Nano Banana Pro, Kling O1) use it as the long edge:
  1K = 1024, 2K = 2048, 4K = 4096.
* Seedream v4 and v4.5 (and their edits) render "High-res 2K+": a 2048 long edge.
* Every other model: a 1024 long edge.

The short edge follows the aspect ratio, rounded to a multiple of 16 as diffusion models do.
"""

from __future__ import annotations

from catalog.models import MODELS

GPT_IMAGE_MODELS: frozenset[str] = frozenset(
    {"img-gpt-image-1", "img-gpt-image-1-edit", "img-gpt-image-1-5", "img-gpt-image-1-5-edit"}
)
HIGH_RES_MODELS: frozenset[str] = frozenset(
    {"img-seedream-v4", "img-seedream-v4-edit", "img-seedream-v45", "img-seedream-v45-edit"}
)
RESOLUTION_LONG_EDGE: dict[str, int] = {"1K": 1024, "2K": 2048, "4K": 4096}
DEFAULT_LONG_EDGE = 1024
HIGH_RES_LONG_EDGE = 2048
_STEP = 16


def parse_ratio(aspect_ratio: str | None) -> tuple[int, int]:
    """``"16:9"`` -> ``(16, 9)``; anything unparseable counts as square."""
    if not aspect_ratio:
        return (1, 1)
    left, sep, right = aspect_ratio.partition(":")
    try:
        w, h = int(left), int(right)
    except ValueError:
        return (1, 1)
    if not sep or w <= 0 or h <= 0:
        return (1, 1)
    return (w, h)


def _round_step(value: float) -> int:
    return max(_STEP, round(value / _STEP) * _STEP)


def size_for_long_edge(long_edge: int, aspect_ratio: str | None) -> tuple[int, int]:
    """Width and height with ``long_edge`` on the longer side and the ratio's shape."""
    rw, rh = parse_ratio(aspect_ratio)
    if rw >= rh:
        return (long_edge, _round_step(long_edge * rh / rw))
    return (_round_step(long_edge * rw / rh), long_edge)


def _gpt_size(aspect_ratio: str | None) -> tuple[int, int]:
    rw, rh = parse_ratio(aspect_ratio)
    if rw > rh:
        return (1536, 1024)
    if rh > rw:
        return (1024, 1536)
    return (1024, 1024)


def output_size(
    model_id: str, aspect_ratio: str | None = None, resolution: str | None = None
) -> tuple[int, int]:
    """The (width, height) in pixels ``model_id`` produces; ``None`` options use defaults.

    Raises ``KeyError`` for a model id the catalog does not know.
    """
    model = MODELS.get(model_id)
    if model is None:
        raise KeyError(f"Unknown model {model_id!r}.")
    ratio = aspect_ratio if model.aspect_ratios else None
    if ratio is None:
        ratio = model.default_aspect_ratio
    if model.id in GPT_IMAGE_MODELS:
        return _gpt_size(ratio)
    if model.resolutions:
        res = resolution if resolution in model.resolutions else model.default_resolution
        long_edge = RESOLUTION_LONG_EDGE.get(res or "", DEFAULT_LONG_EDGE)
    elif model.id in HIGH_RES_MODELS:
        long_edge = HIGH_RES_LONG_EDGE
    else:
        long_edge = DEFAULT_LONG_EDGE
    return size_for_long_edge(long_edge, ratio)
