"""catalog.sizes: every model x aspect ratio x resolution, and which sizes are documented.

The tables are written out here by hand from the providers' documents (not recomputed), so a
wrong table or formula in catalog/sizes.py cannot agree with itself.
"""

from __future__ import annotations

import pytest

from catalog import MODELS
from catalog.sizes import output_size, output_size_info, parse_ratio, size_rule

# Google, "Image generation" (ai.google.dev/gemini-api/docs/image-generation).
GEMINI_25_FLASH = {
    "1:1": (1024, 1024), "2:3": (832, 1248), "3:2": (1248, 832), "3:4": (864, 1184),
    "4:3": (1184, 864), "4:5": (896, 1152), "5:4": (1152, 896), "9:16": (768, 1344),
    "16:9": (1344, 768), "21:9": (1536, 672),
}  # fmt: skip
GEMINI_3_PRO = {
    "1K": {
        "1:1": (1024, 1024), "2:3": (848, 1264), "3:2": (1264, 848), "3:4": (896, 1200),
        "4:3": (1200, 896), "4:5": (928, 1152), "5:4": (1152, 928), "9:16": (768, 1376),
        "16:9": (1376, 768), "21:9": (1584, 672),
    },
    "2K": {
        "1:1": (2048, 2048), "2:3": (1696, 2528), "3:2": (2528, 1696), "3:4": (1792, 2400),
        "4:3": (2400, 1792), "4:5": (1856, 2304), "5:4": (2304, 1856), "9:16": (1536, 2752),
        "16:9": (2752, 1536), "21:9": (3168, 1344),
    },
    "4K": {
        "1:1": (4096, 4096), "2:3": (3392, 5056), "3:2": (5056, 3392), "3:4": (3584, 4800),
        "4:3": (4800, 3584), "4:5": (3712, 4608), "5:4": (4608, 3712), "9:16": (3072, 5504),
        "16:9": (5504, 3072), "21:9": (6336, 2688),
    },
}  # fmt: skip
# Google Vertex AI model pages: Imagen 3 (3-0-generate-002) and Imagen 4 at 1K.
IMAGEN = {
    "1:1": (1024, 1024), "3:4": (896, 1280), "4:3": (1280, 896), "9:16": (768, 1408),
    "16:9": (1408, 768),
}  # fmt: skip
GPT = {"1:1": (1024, 1024), "4:3": (1536, 1024), "3:4": (1024, 1536)}
# Fal's image_size presets (fal toolkit IMAGE_SIZE_PRESETS) for the ratio payloads.py maps.
FAL_PRESET = {
    "1:1": (1024, 1024), "4:3": (1024, 768), "3:4": (768, 1024), "16:9": (1024, 576),
    "9:16": (576, 1024),
}  # fmt: skip
# What payloads.py asks Seedream v4 for: a 2048 long edge, short edge rounded to 16.
SEEDREAM_V4 = {
    "1:1": (2048, 2048), "4:3": (2048, 1536), "3:4": (1536, 2048), "16:9": (2048, 1152),
    "9:16": (1152, 2048),
}  # fmt: skip
# Estimates (no provider documents them).
SEEDREAM_V45 = {
    "1:1": (2048, 2048), "4:3": (2304, 1728), "3:4": (1728, 2304), "16:9": (2560, 1440),
    "9:16": (1440, 2560),
}  # fmt: skip
LONG_1024 = {
    "1:1": (1024, 1024), "4:3": (1024, 768), "3:4": (768, 1024), "16:9": (1024, 576),
    "9:16": (576, 1024),
}  # fmt: skip
KLING = {
    "1K": {
        "16:9": (1024, 576), "9:16": (576, 1024), "1:1": (1024, 1024), "4:3": (1024, 768),
        "3:4": (768, 1024), "3:2": (1024, 688), "2:3": (688, 1024), "21:9": (1024, 432),
    },
    "2K": {
        "16:9": (2048, 1152), "9:16": (1152, 2048), "1:1": (2048, 2048), "4:3": (2048, 1536),
        "3:4": (1536, 2048), "3:2": (2048, 1360), "2:3": (1360, 2048), "21:9": (2048, 880),
    },
}  # fmt: skip

BY_RATIO: dict[str, dict[str, tuple[int, int]]] = {
    "img-gpt-image-1": GPT,
    "img-gpt-image-1-5": GPT,
    "img-gpt-image-1-5-edit": GPT,
    "img-flux-2-max": FAL_PRESET,
    "img-flux-2-max-edit": FAL_PRESET,
    "img-hunyuan-v3": FAL_PRESET,
    "img-hunyuan-v21": FAL_PRESET,
    "img-wan-v22-a14b": FAL_PRESET,
    "img-nano-banana": GEMINI_25_FLASH,
    "img-nano-banana-edit": GEMINI_25_FLASH,
    "img-imagen4-preview": IMAGEN,
    "img-imagen3": IMAGEN,
    "img-seedream-v4": SEEDREAM_V4,
    "img-seedream-v4-edit": SEEDREAM_V4,
    "img-seedream-v45": SEEDREAM_V45,
    "img-seedream-v45-edit": SEEDREAM_V45,
    "img-reve": LONG_1024,
    "img-reve-edit": LONG_1024,
    "img-flux-kontext-pro": LONG_1024,
}
BY_RESOLUTION = {
    "img-nano-banana-pro": GEMINI_3_PRO,
    "img-nano-banana-pro-edit": GEMINI_3_PRO,
    "img-kling-o1": KLING,
}
# Sizes no provider documents: the catalog must not call them exact.
ESTIMATED = {
    "img-kling-o1",
    "img-reve",
    "img-reve-edit",
    "img-flux-kontext-pro",
    "img-seedream-v45",
    "img-seedream-v45-edit",
}


def all_cases() -> list[tuple[str, str | None, str | None]]:
    cases: list[tuple[str, str | None, str | None]] = []
    for model in MODELS.values():
        for ratio in model.aspect_ratios or (None,):
            for res in model.resolutions or (None,):
                cases.append((model.id, ratio, res))
    return cases


def test_every_model_is_classified() -> None:
    assert set(BY_RATIO) | set(BY_RESOLUTION) | {"img-gpt-image-1-edit"} == set(MODELS)


@pytest.mark.parametrize(("model_id", "ratio", "resolution"), all_cases())
def test_output_size(model_id: str, ratio: str | None, resolution: str | None) -> None:
    if model_id == "img-gpt-image-1-edit":
        want = (1024, 1024)  # no ratio: payloads.py sends size 1024x1024
    elif model_id in BY_RESOLUTION:
        assert ratio is not None and resolution is not None
        want = BY_RESOLUTION[model_id][resolution][ratio]
    else:
        assert ratio is not None
        want = BY_RATIO[model_id][ratio]
    info = output_size_info(model_id, ratio, resolution)
    assert info.size == output_size(model_id, ratio, resolution) == want
    assert info.exact is (model_id not in ESTIMATED)
    assert want[0] % 16 == 0 and want[1] % 16 == 0


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_every_rule_names_its_source(model_id: str) -> None:
    rule = size_rule(model_id)
    assert rule.exact is (model_id not in ESTIMATED)
    if rule.exact:
        assert rule.source.startswith(("https://", "fal-ai/", "payloads.py"))
    else:
        assert rule.source == "estimate" and rule.note


def test_case_count_covers_the_matrix() -> None:
    # Nano Banana Pro + Edit 2x10x3, Kling O1 8x2, GPT-Image 3x3 + Edit 1, Nano Banana +
    # Edit 2x10, and 14 models with the 5 standard ratios (Imagen 3 now among them).
    assert len(all_cases()) == 60 + 16 + 9 + 1 + 20 + 14 * 5


def test_defaults_apply_when_options_are_missing() -> None:
    assert output_size("img-nano-banana-pro") == (1024, 1024)  # 1:1, 1K
    assert output_size("img-kling-o1", "16:9") == (1024, 576)  # default 1K
    assert output_size("img-gpt-image-1-5") == (1024, 1024)
    assert output_size("img-seedream-v4") == (2048, 2048)


def test_options_a_model_does_not_take_are_ignored() -> None:
    # GPT-Image 1 Edit takes no aspect ratio; Imagen 4 has no resolution option.
    assert output_size("img-gpt-image-1-edit", "16:9") == (1024, 1024)
    assert output_size("img-imagen4-preview", "16:9", "4K") == (1408, 768)
    # Kling O1 has no 4K: falls back to its default resolution.
    assert output_size("img-kling-o1", "1:1", "4K") == (1024, 1024)
    # Imagen 3 no longer offers 21:9: its default ratio is used.
    assert output_size("img-imagen3", "21:9") == (1024, 1024)


def test_unknown_model_raises_key_error() -> None:
    with pytest.raises(KeyError):
        output_size("img-does-not-exist", "1:1", None)
    with pytest.raises(KeyError):
        size_rule("img-does-not-exist")


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("16:9", (16, 9)),
        ("1:1", (1, 1)),
        (None, (1, 1)),
        ("", (1, 1)),
        ("x:y", (1, 1)),
        ("0:5", (1, 1)),
        ("16", (1, 1)),
    ],
)
def test_parse_ratio(text: str | None, parsed: tuple[int, int]) -> None:
    assert parse_ratio(text) == parsed
