"""catalog.sizes: the exact output size for every model x aspect ratio x resolution."""

from __future__ import annotations

import pytest

from catalog import MODELS
from catalog.sizes import output_size, parse_ratio

# Written out by hand (not recomputed) so a wrong formula cannot agree with itself.
# Short edge for a landscape ratio, per long edge; rounded to a multiple of 16.
SHORT_EDGE: dict[int, dict[str, int]] = {
    1024: {"1:1": 1024, "4:3": 768, "16:9": 576, "21:9": 432, "3:2": 688, "5:4": 816},
    2048: {"1:1": 2048, "4:3": 1536, "16:9": 1152, "21:9": 880, "3:2": 1360, "5:4": 1632},
    4096: {"1:1": 4096, "4:3": 3072, "16:9": 2304, "21:9": 1760, "3:2": 2736, "5:4": 3280},
}
PORTRAIT_OF = {"3:4": "4:3", "9:16": "16:9", "2:3": "3:2", "4:5": "5:4"}

GPT_SIZES = {"1:1": (1024, 1024), "4:3": (1536, 1024), "3:4": (1024, 1536)}
RESOLUTION_EDGE = {"1K": 1024, "2K": 2048, "4K": 4096}

# The long edge of every model without a resolution option or fixed GPT sizes.
LONG_EDGE: dict[str, int] = {
    "img-flux-2-max": 1024,
    "img-flux-2-max-edit": 1024,
    "img-seedream-v45": 2048,
    "img-seedream-v45-edit": 2048,
    "img-nano-banana": 1024,
    "img-nano-banana-edit": 1024,
    "img-imagen4-preview": 1024,
    "img-imagen3": 1024,
    "img-hunyuan-v3": 1024,
    "img-reve": 1024,
    "img-reve-edit": 1024,
    "img-seedream-v4": 2048,
    "img-seedream-v4-edit": 2048,
    "img-flux-kontext-pro": 1024,
    "img-hunyuan-v21": 1024,
    "img-wan-v22-a14b": 1024,
}
GPT_MODELS = {"img-gpt-image-1", "img-gpt-image-1-5", "img-gpt-image-1-5-edit"}
RESOLUTION_MODELS = {"img-kling-o1", "img-nano-banana-pro", "img-nano-banana-pro-edit"}


def expected(long_edge: int, ratio: str) -> tuple[int, int]:
    if ratio in PORTRAIT_OF:
        return (SHORT_EDGE[long_edge][PORTRAIT_OF[ratio]], long_edge)
    return (long_edge, SHORT_EDGE[long_edge][ratio])


def all_cases() -> list[tuple[str, str | None, str | None]]:
    cases: list[tuple[str, str | None, str | None]] = []
    for model in MODELS.values():
        for ratio in model.aspect_ratios or (None,):
            for res in model.resolutions or (None,):
                cases.append((model.id, ratio, res))
    return cases


def test_every_model_is_classified() -> None:
    covered = set(LONG_EDGE) | GPT_MODELS | RESOLUTION_MODELS | {"img-gpt-image-1-edit"}
    assert covered == set(MODELS)


@pytest.mark.parametrize(("model_id", "ratio", "resolution"), all_cases())
def test_output_size_is_exact(model_id: str, ratio: str | None, resolution: str | None) -> None:
    size = output_size(model_id, ratio, resolution)
    if model_id == "img-gpt-image-1-edit":
        want = (1024, 1024)
    elif model_id in GPT_MODELS:
        assert ratio is not None
        want = GPT_SIZES[ratio]
    elif model_id in RESOLUTION_MODELS:
        assert ratio is not None and resolution is not None
        want = expected(RESOLUTION_EDGE[resolution], ratio)
    else:
        assert ratio is not None
        want = expected(LONG_EDGE[model_id], ratio)
    assert size == want
    assert size[0] % 16 == 0 and size[1] % 16 == 0


def test_case_count_covers_the_matrix() -> None:
    # Nano Banana Pro + Edit 2x10x3, Kling O1 8x2, GPT-Image 3x3 + Edit 1, Nano Banana +
    # Edit 2x10, Imagen 3 10, and 13 models with the 5 standard ratios.
    assert len(all_cases()) == 60 + 16 + 9 + 1 + 20 + 10 + 13 * 5


def test_defaults_apply_when_options_are_missing() -> None:
    assert output_size("img-nano-banana-pro") == (1024, 1024)  # 1:1, 1K
    assert output_size("img-kling-o1", "16:9") == (1024, 576)  # default 1K
    assert output_size("img-gpt-image-1-5") == (1024, 1024)
    assert output_size("img-seedream-v4") == (2048, 2048)


def test_options_a_model_does_not_take_are_ignored() -> None:
    # GPT-Image 1 Edit takes no aspect ratio; Imagen 4 has no resolution option.
    assert output_size("img-gpt-image-1-edit", "16:9") == (1024, 1024)
    assert output_size("img-imagen4-preview", "16:9", "4K") == (1024, 576)
    # Kling O1 has no 4K: falls back to its default resolution.
    assert output_size("img-kling-o1", "1:1", "4K") == (1024, 1024)


def test_unknown_model_raises_key_error() -> None:
    with pytest.raises(KeyError):
        output_size("img-does-not-exist", "1:1", None)


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
