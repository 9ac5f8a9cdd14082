"""Pricing: defaults, multiplication, and refusals."""

from __future__ import annotations

import pytest

from catalog import cost, cost_per_image
from catalog.pricing import describe_price, price_table


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("img-gpt-image-1-5", 4),  # default quality: medium
        ("img-nano-banana-pro-edit", 15),  # default resolution: 1K
        ("img-flux-2-max", 7),  # default aspect ratio: 1:1
        ("img-kling-o1", 3),
        ("img-gpt-image-1-edit", 3),
    ],
)
def test_missing_option_costs_the_default(model_id: str, expected: int) -> None:
    assert cost_per_image(model_id) == expected


def test_cost_multiplies_by_num_images() -> None:
    assert cost("img-gpt-image-1-5-edit", 4, quality="high") == 64
    assert cost("img-nano-banana-pro", 2, resolution="4K") == 50
    assert cost("img-flux-2-max-edit", 3, aspect_ratio="9:16") == 27
    assert cost("img-imagen3", 4) == 12


def test_options_that_do_not_set_the_price_are_ignored() -> None:
    # Kling O1 offers resolutions but is flat-priced; Imagen 4's ratio does not matter.
    assert cost("img-kling-o1", 1, resolution="2K") == 3
    assert cost("img-imagen4-preview", 2, aspect_ratio="16:9") == 6


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2"])
def test_num_images_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(ValueError, match="number of images"):
        cost("img-reve", bad)  # type: ignore[arg-type]


def test_unknown_model_and_unpriced_option_raise_readable_errors() -> None:
    with pytest.raises(ValueError, match="Unknown model 'img-nope'"):
        cost("img-nope", 1)
    with pytest.raises(ValueError, match="Flux 2 Max has no price for aspect ratio '21:9'"):
        cost("img-flux-2-max", 1, aspect_ratio="21:9")


def test_price_table_json_and_summary() -> None:
    assert [r.to_json() for r in price_table("img-gpt-image-1-5")] == [
        {"quality": "medium", "costPerImage": 4},
        {"quality": "high", "costPerImage": 16},
    ]
    assert [r.to_json() for r in price_table("img-reve")] == [{"costPerImage": 3}]
    assert describe_price("img-flux-2-max") == "1:1=7 4:3/3:4=8 16:9/9:16=9"
    assert describe_price("img-nano-banana-pro") == "1K/2K=15 4K=25"
    assert describe_price("img-seedream-v4") == "3"
