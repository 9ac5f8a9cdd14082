"""The output pixel size of each model for an aspect ratio and resolution, and how we know it.

The local provider renders at these sizes, so a local generation has the dimensions the real
provider returns. Each model has a `SizeRule` saying where its numbers come from:

* ``exact=True``: the provider (or the model's maker) documents the size, or we send it.
  Nano Banana / Nano Banana Pro use Google's per-ratio tables (Pro: x2 at 2K, x4 at 4K, as
  Google's table lists them); Imagen 4 and Imagen 3 use Google's Imagen table (1K); the
  GPT-Image models have three fixed sizes; Seedream v4 is sent explicit pixels (a 2048
  long edge, what ``payloads.py`` asks for); Flux 2 Max, Hunyuan and Wan are sent Fal's
  ``image_size`` presets, whose pixels Fal's toolkit defines (``landscape_4_3`` ->
  1024x768, ...).
* ``exact=False``: nobody documents the pixels; the size is our estimate and says so.
  Kling O1 (a 1024 / 2048 long edge for 1K / 2K), Reve and FLUX Kontext Pro (a 1024 long
  edge), Seedream v4.5 (ByteDance's 2K sizes: Fal sends a preset whose pixels it does not
  document for this model, and Seedream 4.5 renders at least 2560x1440 pixels in total,
  as Wavespeed's Seedream v4.5 page says, so the 1024-pixel presets cannot be literal).

The short edge of an estimate follows the ratio, rounded to a multiple of 16.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from catalog.models import MODELS

Size = tuple[int, int]

FAL_SCHEMAS = (
    "fal-ai/fal-js libs/client/src/types/image/zod.gen.ts "
    "@ 53241327a7e17ad9f964eb904a9769299cccaf58"
)
FAL_TOOLKIT_PRESETS = (
    "fal-ai/fal projects/fal/src/fal/toolkit/image/image.py "
    "@ 0608938253c28de90e82bb6d37218d4bad76002e (IMAGE_SIZE_PRESETS)"
)
GOOGLE_GEMINI_IMAGE = "https://ai.google.dev/gemini-api/docs/image-generation"
GOOGLE_IMAGEN4 = "https://cloud.google.com/vertex-ai/generative-ai/docs/models/imagen/4-0-generate"
GOOGLE_IMAGEN3 = (
    "https://cloud.google.com/vertex-ai/generative-ai/docs/models/imagen/3-0-generate-002"
)
AZURE_GPT_IMAGE = "https://learn.microsoft.com/en-us/azure/ai-foundry/openai/how-to/dall-e"

# Gemini 2.5 Flash Image (Nano Banana): one size per ratio.
GEMINI_25_FLASH: dict[str, Size] = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1184),
    "4:3": (1184, 864),
    "4:5": (896, 1152),
    "5:4": (1152, 896),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
    "21:9": (1536, 672),
}
# Gemini 3 Pro Image (Nano Banana Pro) at 1K; Google's 2K and 4K columns are x2 and x4.
GEMINI_3_PRO_1K: dict[str, Size] = {
    "1:1": (1024, 1024),
    "2:3": (848, 1264),
    "3:2": (1264, 848),
    "3:4": (896, 1200),
    "4:3": (1200, 896),
    "4:5": (928, 1152),
    "5:4": (1152, 928),
    "9:16": (768, 1376),
    "16:9": (1376, 768),
    "21:9": (1584, 672),
}
GEMINI_3_PRO_SCALE: dict[str, int] = {"1K": 1, "2K": 2, "4K": 4}
# Imagen 4 (1K, its default image size) and Imagen 3 (one size per ratio).
IMAGEN_1K: dict[str, Size] = {
    "1:1": (1024, 1024),
    "3:4": (896, 1280),
    "4:3": (1280, 896),
    "9:16": (768, 1408),
    "16:9": (1408, 768),
}
GPT_IMAGE_SIZES: dict[str, Size] = {
    "1:1": (1024, 1024),
    "4:3": (1536, 1024),
    "3:4": (1024, 1536),
}
# Fal's image_size presets, and the preset payloads.py sends for each ratio.
FAL_IMAGE_SIZE_PRESETS: dict[str, Size] = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}
FAL_PRESET_FOR_RATIO: dict[str, str] = {
    "1:1": "square_hd",
    "4:3": "landscape_4_3",
    "3:4": "portrait_4_3",
    "16:9": "landscape_16_9",
    "9:16": "portrait_16_9",
}
# An estimate for Seedream v4.5: ByteDance's 2K sizes (each at least 2560x1440 pixels).
SEEDREAM_2K: dict[str, Size] = {
    "1:1": (2048, 2048),
    "4:3": (2304, 1728),
    "3:4": (1728, 2304),
    "16:9": (2560, 1440),
    "9:16": (1440, 2560),
}
RESOLUTION_LONG_EDGE: dict[str, int] = {"1K": 1024, "2K": 2048, "4K": 4096}
DEFAULT_LONG_EDGE = 1024
SEEDREAM_V4_LONG_EDGE = 2048  # what payloads.py asks Seedream v4 for
_STEP = 16


@dataclass(frozen=True)
class SizeRule:
    """Where a model's output sizes come from."""

    exact: bool  # False: no one documents the pixels, the size is our estimate
    source: str  # a URL or repository path, or "estimate"
    note: str = ""


@dataclass(frozen=True)
class OutputSize:
    width: int
    height: int
    exact: bool

    @property
    def size(self) -> Size:
        return (self.width, self.height)


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


def size_for_long_edge(long_edge: int, aspect_ratio: str | None) -> Size:
    """Width and height with ``long_edge`` on the longer side and the ratio's shape."""
    rw, rh = parse_ratio(aspect_ratio)
    if rw >= rh:
        return (long_edge, _round_step(long_edge * rh / rw))
    return (_round_step(long_edge * rw / rh), long_edge)


def _gpt(ratio: str, resolution: str | None) -> Size:
    rw, rh = parse_ratio(ratio)
    return GPT_IMAGE_SIZES["4:3" if rw > rh else "3:4" if rh > rw else "1:1"]


def _table(table: dict[str, Size]) -> Callable[[str, str | None], Size]:
    def size(ratio: str, resolution: str | None) -> Size:
        return table.get(ratio) or size_for_long_edge(DEFAULT_LONG_EDGE, ratio)

    return size


def _gemini_3_pro(ratio: str, resolution: str | None) -> Size:
    w, h = GEMINI_3_PRO_1K.get(ratio, (1024, 1024))
    k = GEMINI_3_PRO_SCALE.get(resolution or "1K", 1)
    return (w * k, h * k)


def _fal_preset(ratio: str, resolution: str | None) -> Size:
    return FAL_IMAGE_SIZE_PRESETS[FAL_PRESET_FOR_RATIO.get(ratio, "square_hd")]


def _long_edge(edge: int) -> Callable[[str, str | None], Size]:
    return lambda ratio, resolution: size_for_long_edge(edge, ratio)


def _by_resolution(ratio: str, resolution: str | None) -> Size:
    return size_for_long_edge(RESOLUTION_LONG_EDGE.get(resolution or "", DEFAULT_LONG_EDGE), ratio)


_Rule = tuple[SizeRule, Callable[[str, str | None], Size]]

_GEMINI_25 = SizeRule(True, GOOGLE_GEMINI_IMAGE, "Gemini 2.5 Flash Image table")
_GEMINI_3 = SizeRule(True, GOOGLE_GEMINI_IMAGE, "Gemini 3 Pro Image table, 1K/2K/4K")
_FAL_GPT = SizeRule(True, FAL_SCHEMAS, "image_size enum 1024x1024 / 1536x1024 / 1024x1536")
_AZURE_GPT = SizeRule(True, AZURE_GPT_IMAGE, "size 1024x1024 / 1536x1024 / 1024x1536")
_PRESET = SizeRule(True, FAL_TOOLKIT_PRESETS, "the image_size preset payloads.py sends")
_SEEDREAM_V4 = SizeRule(True, "payloads.py", "we send explicit pixels: a 2048 long edge")
_SEEDREAM_V45 = SizeRule(
    False,
    "estimate",
    "Fal documents no pixels for the preset sent; ByteDance's 2K sizes as the estimate",
)
_ESTIMATE_1K = SizeRule(False, "estimate", "no pixel sizes documented; a 1024 long edge")

_RULES: dict[str, _Rule] = {
    "img-gpt-image-1-5": (_FAL_GPT, _gpt),
    "img-gpt-image-1-5-edit": (_FAL_GPT, _gpt),
    "img-gpt-image-1": (_AZURE_GPT, _gpt),
    "img-gpt-image-1-edit": (_AZURE_GPT, _gpt),  # no ratio: payloads.py sends 1024x1024
    "img-flux-2-max": (_PRESET, _fal_preset),
    "img-flux-2-max-edit": (_PRESET, _fal_preset),
    "img-kling-o1": (
        SizeRule(False, "estimate", "Fal documents resolution 1K/2K, no pixels"),
        _by_resolution,
    ),
    "img-nano-banana-pro": (_GEMINI_3, _gemini_3_pro),
    "img-nano-banana-pro-edit": (_GEMINI_3, _gemini_3_pro),
    "img-seedream-v45": (_SEEDREAM_V45, _table(SEEDREAM_2K)),
    "img-seedream-v45-edit": (_SEEDREAM_V45, _table(SEEDREAM_2K)),
    "img-nano-banana": (_GEMINI_25, _table(GEMINI_25_FLASH)),
    "img-nano-banana-edit": (_GEMINI_25, _table(GEMINI_25_FLASH)),
    "img-imagen4-preview": (
        SizeRule(True, GOOGLE_IMAGEN4, "Imagen 4 at 1K, its default (we send no resolution)"),
        _table(IMAGEN_1K),
    ),
    "img-imagen3": (
        SizeRule(True, GOOGLE_IMAGEN3, "Google's Imagen 3 sizes; Wavespeed documents none"),
        _table(IMAGEN_1K),
    ),
    "img-hunyuan-v3": (_PRESET, _fal_preset),
    "img-reve": (_ESTIMATE_1K, _long_edge(DEFAULT_LONG_EDGE)),
    "img-reve-edit": (_ESTIMATE_1K, _long_edge(DEFAULT_LONG_EDGE)),
    "img-seedream-v4": (_SEEDREAM_V4, _long_edge(SEEDREAM_V4_LONG_EDGE)),
    "img-seedream-v4-edit": (_SEEDREAM_V4, _long_edge(SEEDREAM_V4_LONG_EDGE)),
    "img-flux-kontext-pro": (_ESTIMATE_1K, _long_edge(DEFAULT_LONG_EDGE)),
    "img-hunyuan-v21": (_PRESET, _fal_preset),
    "img-wan-v22-a14b": (_PRESET, _fal_preset),
}


def size_rule(model_id: str) -> SizeRule:
    """Where ``model_id``'s sizes come from; raises ``KeyError`` for an unknown model."""
    if model_id not in MODELS:
        raise KeyError(f"Unknown model {model_id!r}.")
    rule = _RULES.get(model_id)
    return rule[0] if rule else SizeRule(False, "estimate", "a 1024 long edge")


def output_size_info(
    model_id: str, aspect_ratio: str | None = None, resolution: str | None = None
) -> OutputSize:
    """The size ``model_id`` produces and whether it is documented; ``None`` -> defaults.

    Options the model does not take are ignored. Raises ``KeyError`` for an unknown model.
    """
    model = MODELS.get(model_id)
    if model is None:
        raise KeyError(f"Unknown model {model_id!r}.")
    ratio = aspect_ratio if aspect_ratio in model.aspect_ratios else None
    ratio = ratio or model.default_aspect_ratio or "1:1"
    res = resolution if resolution in model.resolutions else model.default_resolution
    rule, size = _RULES.get(model_id, (size_rule(model_id), _long_edge(DEFAULT_LONG_EDGE)))
    width, height = size(ratio, res)
    return OutputSize(width, height, rule.exact)


def output_size(
    model_id: str, aspect_ratio: str | None = None, resolution: str | None = None
) -> Size:
    """The (width, height) in pixels ``model_id`` produces; see `output_size_info`."""
    return output_size_info(model_id, aspect_ratio, resolution).size
