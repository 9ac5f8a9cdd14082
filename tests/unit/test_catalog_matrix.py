"""One test per row of the seed's "Complete Image Model Matrix", corrected by the providers.

The expected values are written out here from the seed's tables (not read back from the
catalog), so a wrong edit to catalog/models.py fails a row. Where a provider's published
schema disagrees with the seed, the provider wins (see backend/providers/differences.py):
Imagen 3 offers Wavespeed's 5 ratios, Reve Edit takes 1 to 6 images, and the prompt limits,
reference limits and output-count semantics below come from Fal's schemas.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from catalog import MODEL_IDS, MODELS, cost, price_table

STD = ("1:1", "4:3", "3:4", "16:9", "9:16")
ALL = ("21:9", "1:1", "16:9", "9:16", "3:4", "4:3", "3:2", "2:3", "5:4", "4:5")
GPT = ("1:1", "4:3", "3:4")
KLING = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9")
NONE = (0, 0)
ONE_PLUS = (1, 10)
EXACTLY_ONE = (1, 1)


class Row(NamedTuple):
    id: str
    label: str
    provider: str
    endpoint: str
    call_type: str
    attachments: tuple[int, int]
    ratios: tuple[str, ...]
    resolutions: tuple[str, ...] = ()
    qualities: tuple[str, ...] = ()
    max_images: int = 4
    pair: str | None = None  # edit variant of a base model, or base model of an edit model
    # (options, credits per image) for every priced combination
    prices: tuple[tuple[dict[str, Any], int], ...] = (({}, 3),)


RATIO_PRICES = (
    ({"aspect_ratio": "1:1"}, 7),
    ({"aspect_ratio": "4:3"}, 8),
    ({"aspect_ratio": "3:4"}, 8),
    ({"aspect_ratio": "16:9"}, 9),
    ({"aspect_ratio": "9:16"}, 9),
)
RES_PRICES = (({"resolution": "1K"}, 15), ({"resolution": "2K"}, 15), ({"resolution": "4K"}, 25))
QUALITY_PRICES = (({"quality": "medium"}, 4), ({"quality": "high"}, 16))

ROWS = [
    Row("img-imagen4-preview", "Imagen 4", "fal", "fal-ai/imagen4/preview", "sync", NONE, STD),
    # The seed: VALID_ASPECT_RATIOS; Wavespeed documents 1:1, 16:9, 9:16, 4:3, 3:4.
    Row("img-imagen3", "Imagen 3", "wavespeed", "wavespeed/imagen3", "queued", NONE, STD),
    Row(
        "img-nano-banana", "Nano Banana", "fal", "fal-ai/gemini-25-flash-image", "queued",
        NONE, ALL, pair="img-nano-banana-edit",
    ),
    Row(
        "img-nano-banana-edit", "Nano Banana Edit", "fal", "fal-ai/gemini-25-flash-image/edit",
        "queued", ONE_PLUS, ALL, pair="img-nano-banana",
    ),
    Row(
        "img-nano-banana-pro", "Nano Banana Pro", "fal", "fal-ai/nano-banana-pro", "queued",
        NONE, ALL, resolutions=("1K", "2K", "4K"), pair="img-nano-banana-pro-edit",
        prices=RES_PRICES,
    ),
    Row(
        "img-nano-banana-pro-edit", "Nano Banana Pro Edit", "fal", "fal-ai/nano-banana-pro/edit",
        "queued", ONE_PLUS, ALL, resolutions=("1K", "2K", "4K"), pair="img-nano-banana-pro",
        prices=RES_PRICES,
    ),
    Row(
        "img-seedream-v4", "Seedream v4", "fal", "fal-ai/bytedance/seedream/v4/text-to-image",
        "queued", NONE, STD, pair="img-seedream-v4-edit",
    ),
    Row(
        "img-seedream-v4-edit", "Seedream v4 Edit", "fal", "fal-ai/bytedance/seedream/v4/edit",
        "queued", ONE_PLUS, STD, pair="img-seedream-v4",
    ),
    Row(
        "img-seedream-v45", "Seedream v4.5", "fal",
        "fal-ai/bytedance/seedream/v4.5/text-to-image", "queued", NONE, STD,
        pair="img-seedream-v45-edit",
    ),
    Row(
        "img-seedream-v45-edit", "Seedream v4.5 Edit", "fal",
        "fal-ai/bytedance/seedream/v4.5/edit", "queued", ONE_PLUS, STD, pair="img-seedream-v45",
    ),
    Row(
        "img-flux-kontext-pro", "FLUX Kontext Pro", "fal", "fal-ai/flux-pro/kontext", "sync",
        EXACTLY_ONE, STD,
    ),
    Row(
        "img-gpt-image-1", "GPT-Image 1", "azure", "AZURE_BASE_URL", "sync", NONE, GPT,
        pair="img-gpt-image-1-edit",
    ),
    Row(
        "img-gpt-image-1-edit", "GPT-Image 1 Edit", "azure", "AZURE_IMAGE_EDITS_URL", "sync",
        EXACTLY_ONE, (), pair="img-gpt-image-1",
    ),
    Row(
        "img-gpt-image-1-5", "GPT-Image 1.5", "fal", "fal-ai/gpt-image-1.5", "queued", NONE,
        GPT, qualities=("medium", "high"), pair="img-gpt-image-1-5-edit",
        prices=QUALITY_PRICES,
    ),
    Row(
        "img-gpt-image-1-5-edit", "GPT-Image 1.5 Edit", "fal", "fal-ai/gpt-image-1.5/edit",
        "queued", ONE_PLUS, GPT, qualities=("medium", "high"), pair="img-gpt-image-1-5",
        prices=QUALITY_PRICES,
    ),
    Row(
        "img-hunyuan-v21", "Hunyuan Image 2.1", "fal", "fal-ai/hunyuan-image/v2.1/text-to-image",
        "sync", NONE, STD,
    ),
    Row(
        "img-hunyuan-v3", "Hunyuan Image 3.0", "fal", "fal-ai/hunyuan-image/v3/text-to-image",
        "sync", NONE, STD,
    ),
    Row(
        "img-wan-v22-a14b", "Wan v2.2 A14B", "fal", "fal-ai/wan/v2.2-a14b/text-to-image", "sync",
        NONE, STD,
    ),
    Row(
        "img-reve", "Reve", "fal", "fal-ai/reve/text-to-image", "sync", NONE, STD,
        pair="img-reve-edit",
    ),
    # The seed: 1-10; fal-ai/reve/remix takes 1 to 6 image_urls.
    Row(
        "img-reve-edit", "Reve Edit", "fal", "fal-ai/reve/edit", "sync", (1, 6), STD,
        pair="img-reve",
    ),
    Row(
        "img-kling-o1", "Kling O1 Image Edit", "fal", "fal-ai/kling-image/o1", "queued",
        ONE_PLUS, KLING, resolutions=("1K", "2K"), max_images=4,
    ),
    Row(
        "img-flux-2-max", "Flux 2 Max", "fal", "fal-ai/flux-2-max", "queued", NONE, STD,
        pair="img-flux-2-max-edit", prices=RATIO_PRICES,
    ),
    Row(
        "img-flux-2-max-edit", "Flux 2 Max Edit", "fal", "fal-ai/flux-2-max/edit", "queued",
        ONE_PLUS, STD, pair="img-flux-2-max", prices=RATIO_PRICES,
    ),
]  # fmt: skip

HIDDEN = {"img-hunyuan-v21", "img-wan-v22-a14b"}


def test_the_catalog_has_exactly_the_23_seed_ids() -> None:
    assert len(ROWS) == 23
    assert sorted(MODEL_IDS) == sorted(r.id for r in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_matrix_row(row: Row) -> None:
    m = MODELS[row.id]
    assert m.label == row.label
    assert (m.provider, m.endpoint, m.call_type) == (row.provider, row.endpoint, row.call_type)
    assert (m.attachments.min, m.attachments.max) == row.attachments
    assert m.aspect_ratios == row.ratios
    assert m.resolutions == row.resolutions
    assert m.qualities == row.qualities
    assert m.max_images == row.max_images
    assert m.in_picker is (row.id not in HIDDEN)
    if row.attachments == NONE:
        assert m.edit_variant == row.pair and m.base_model is None
    else:
        assert m.base_model == row.pair and m.edit_variant is None
    for options, per_image in row.prices:
        assert cost(row.id, 1, **options) == per_image
        assert cost(row.id, 3, **options) == 3 * per_image
    # The document lists exactly the priced combinations above.
    listed = {
        tuple(sorted((k, v) for k, v in vars(p).items() if k != "cost_per_image" and v)):
        p.cost_per_image
        for p in price_table(row.id)
    }  # fmt: skip
    assert listed == {tuple(sorted(o.items())): c for o, c in row.prices}


def test_reve_edit_remix_endpoint_for_two_or_more_images() -> None:
    assert MODELS["img-reve-edit"].alt_endpoints == {"remix": "fal-ai/reve/remix"}


def test_imagen3_and_kling_cap_four_images() -> None:
    assert MODELS["img-imagen3"].max_images == 4
    assert MODELS["img-kling-o1"].max_images == 4


def test_ui_metadata_new_badges() -> None:
    new = {
        "img-gpt-image-1-5", "img-gpt-image-1-5-edit", "img-flux-2-max", "img-flux-2-max-edit",
        "img-kling-o1", "img-nano-banana-pro", "img-nano-banana-pro-edit", "img-seedream-v45",
        "img-seedream-v45-edit",
    }  # fmt: skip
    assert {m.id for m in MODELS.values() if m.is_new} == new


# (min, max) prompt characters, from each endpoint's `prompt` minLength / maxLength; our own
# 4,000 stays the ceiling where a schema allows more (Gemini 50,000, Imagen 4 5,000).
PROMPT_LIMITS: dict[str, tuple[int, int]] = {
    "img-kling-o1": (1, 2500),
    "img-reve": (1, 2560),
    "img-reve-edit": (1, 2560),
    "img-nano-banana": (3, 4000),
    "img-nano-banana-edit": (3, 4000),
    "img-nano-banana-pro": (3, 4000),
    "img-nano-banana-pro-edit": (3, 4000),
    "img-imagen4-preview": (3, 4000),
    "img-gpt-image-1-5": (2, 4000),
    "img-gpt-image-1-5-edit": (2, 4000),
}


@pytest.mark.parametrize("model_id", sorted(MODEL_IDS))
def test_prompt_limits(model_id: str) -> None:
    m = MODELS[model_id]
    assert (m.prompt_min_length, m.prompt_max_length) == PROMPT_LIMITS.get(model_id, (1, 4000))


def test_endpoints_that_answer_one_image_per_call() -> None:
    # No num_images in the schema (Flux 2 Max, its edit), or a single `image` answer (Wan).
    one = {"img-flux-2-max", "img-flux-2-max-edit", "img-wan-v22-a14b"}
    assert {m.id for m in MODELS.values() if m.images_per_call == 1} == one
    assert all(m.images_per_call is None for m in MODELS.values() if m.id not in one)


def test_reference_limits_beyond_the_count() -> None:
    reve = MODELS["img-reve-edit"].attachments
    assert [(m.name, m.endpoint, m.min, m.max) for m in reve.modes] == [
        ("edit", "fal-ai/reve/edit", 1, 1),
        ("remix", "fal-ai/reve/remix", 2, 6),
    ]
    assert reve.file_limit(1) is None and reve.file_limit(2) == reve.file_limit(6) == 10**7
    assert MODELS["img-reve-edit"].alt_endpoints["remix"] == reve.modes[1].endpoint
    seedream_edits = {"img-seedream-v4-edit", "img-seedream-v45-edit"}
    for m in MODELS.values():
        assert m.attachments.max_total_images == (15 if m.id in seedream_edits else None)
        if m.id != "img-reve-edit":
            assert m.attachments.modes == () and m.attachments.file_limit(1) is None
