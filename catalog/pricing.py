"""Credits per image, exactly as the web app charges them.

`cost` is the one pricing function: the client reserves this amount before a generation
and the server (and the Convex host) agree on it, so it must stay pure and deterministic.
Three model pairs are priced by one option each; every other model costs a flat 3 credits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from catalog.models import MODELS
from catalog.spec import ModelSpec

FLAT_COST = 3

PricedBy = Literal["aspect_ratio", "resolution", "quality"]

_QUALITY_PRICES = {"medium": 4, "high": 16}
_RESOLUTION_PRICES = {"1K": 15, "2K": 15, "4K": 25}
_RATIO_PRICES = {"1:1": 7, "4:3": 8, "3:4": 8, "16:9": 9, "9:16": 9}

# model id -> (the option that sets the price, price per option value)
_RULES: dict[str, tuple[PricedBy, dict[str, int]]] = {
    "img-gpt-image-1-5": ("quality", _QUALITY_PRICES),
    "img-gpt-image-1-5-edit": ("quality", _QUALITY_PRICES),
    "img-nano-banana-pro": ("resolution", _RESOLUTION_PRICES),
    "img-nano-banana-pro-edit": ("resolution", _RESOLUTION_PRICES),
    "img-flux-2-max": ("aspect_ratio", _RATIO_PRICES),
    "img-flux-2-max-edit": ("aspect_ratio", _RATIO_PRICES),
}

_OPTION_NAMES: dict[PricedBy, str] = {
    "aspect_ratio": "aspect ratio",
    "resolution": "resolution",
    "quality": "quality",
}


@dataclass(frozen=True)
class PriceRow:
    """The cost of one image for one option combination (None: the option does not matter)."""

    cost_per_image: int
    aspect_ratio: str | None = None
    resolution: str | None = None
    quality: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.aspect_ratio is not None:
            out["aspectRatio"] = self.aspect_ratio
        if self.resolution is not None:
            out["resolution"] = self.resolution
        if self.quality is not None:
            out["quality"] = self.quality
        out["costPerImage"] = self.cost_per_image
        return out


def _model(model_id: str) -> ModelSpec:
    model = MODELS.get(model_id)
    if model is None:
        raise ValueError(f"Unknown model {model_id!r}: it is not in the catalog.")
    return model


def _default_for(model: ModelSpec, option: PricedBy) -> str | None:
    if option == "aspect_ratio":
        return model.default_aspect_ratio
    if option == "resolution":
        return model.default_resolution
    return model.default_quality


def priced_by(model_id: str) -> PricedBy | None:
    """Which option changes this model's price, or None for a flat price."""
    rule = _RULES.get(model_id)
    return rule[0] if rule else None


def cost_per_image(
    model_id: str,
    *,
    aspect_ratio: str | None = None,
    resolution: str | None = None,
    quality: str | None = None,
) -> int:
    """Credits for one image. A missing option means the model's default.

    Raises ValueError (with a readable sentence) for an unknown model or an option value the
    model does not price; callers are expected to have validated the request first.
    """
    model = _model(model_id)
    rule = _RULES.get(model_id)
    if rule is None:
        return FLAT_COST
    option, prices = rule
    given = {"aspect_ratio": aspect_ratio, "resolution": resolution, "quality": quality}[option]
    value = given if given is not None else _default_for(model, option)
    if value not in prices:
        allowed = ", ".join(prices)
        raise ValueError(
            f"{model.label} has no price for {_OPTION_NAMES[option]} {value!r}; "
            f"it is priced for {allowed}."
        )
    return prices[value]


def cost(
    model_id: str,
    num_images: int,
    *,
    aspect_ratio: str | None = None,
    resolution: str | None = None,
    quality: str | None = None,
) -> int:
    """Total credits for ``num_images`` images of ``model_id`` with these options."""
    if isinstance(num_images, bool) or not isinstance(num_images, int) or num_images < 1:
        raise ValueError(
            f"The number of images must be a whole number of at least 1, not {num_images!r}."
        )
    per_image = cost_per_image(
        model_id, aspect_ratio=aspect_ratio, resolution=resolution, quality=quality
    )
    return per_image * num_images


def price_table(model_id: str) -> list[PriceRow]:
    """Every priced option combination of a model, in the model's option order.

    A flat-priced model has one row with no options; a model priced by one option has one
    row per value it offers (only the option that changes the price is named).
    """
    model = _model(model_id)
    rule = _RULES.get(model_id)
    if rule is None:
        return [PriceRow(cost_per_image=FLAT_COST)]
    option, prices = rule
    offered = {
        "aspect_ratio": model.aspect_ratios,
        "resolution": model.resolutions,
        "quality": model.qualities,
    }[option]
    return [PriceRow(cost_per_image=prices[value], **{option: value}) for value in offered]


def describe_price(model_id: str) -> str:
    """A short human summary of a model's price per image, e.g. ``3`` or ``1K/2K=15 4K=25``.

    Option values that cost the same are grouped, in the model's option order.
    """
    rows = price_table(model_id)
    if priced_by(model_id) is None:
        return str(rows[0].cost_per_image)
    groups: dict[int, list[str]] = {}
    for row in rows:
        label = row.aspect_ratio or row.resolution or row.quality or ""
        groups.setdefault(row.cost_per_image, []).append(label)
    return " ".join(f"{'/'.join(labels)}={price}" for price, labels in groups.items())
