"""A generation's options: the model and the choices that follow it, as one value.

The prompt bar's state, the request the engine runs, the remembered settings, the event
that starts a tile and the tile itself all carry this one value, so a new option is added
here (and to the controls that show it), not copied field by field through every layer.

Two spellings exist on purpose: snake_case attributes in Python (and in the stored
settings file, ``dataclasses.asdict``), camelCase in HTTP bodies and journal rows
(``to_body`` / ``from_body``), so files written before this value existed still load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from catalog.models import MODELS
from catalog.pricing import cost
from catalog.spec import ModelSpec


@dataclass(frozen=True)
class Options:
    model: str
    aspect_ratio: str | None = None
    num_images: int = 1
    resolution: str | None = None
    quality: str | None = None

    @classmethod
    def defaults(cls, model_id: str) -> Options:
        """The model's own defaults (one image). Raises KeyError for an unknown model."""
        return cls(model_id).for_model(model_id)

    @property
    def spec(self) -> ModelSpec:
        """The catalog entry of ``model``. Raises KeyError for an unknown model."""
        return MODELS[self.model]

    @property
    def cost(self) -> int:
        return cost(
            self.model,
            self.num_images,
            aspect_ratio=self.aspect_ratio,
            resolution=self.resolution,
            quality=self.quality,
        )

    def for_model(self, model_id: str) -> Options:
        """These options moved onto ``model_id``: each value is kept when the model offers
        it, else replaced by the model's default; the count is capped at its maximum.
        Raises KeyError for an unknown model (callers choose their own fallback)."""
        model = MODELS[model_id]
        return Options(
            model=model.id,
            aspect_ratio=_offered(self.aspect_ratio, model.aspect_ratios)
            or model.default_aspect_ratio,
            num_images=max(1, min(self.num_images, model.max_images)),
            resolution=_offered(self.resolution, model.resolutions) or model.default_resolution,
            quality=_offered(self.quality, model.qualities) or model.default_quality,
        )

    def filled_from(self, fallback: Options) -> Options:
        """These options with every unset choice (None) taken from ``fallback``: a tile
        loaded from Convex does not know its resolution, the prompt bar does."""
        chosen = {f.name: getattr(self, f.name) for f in fields(self)}
        unset = {name: getattr(fallback, name) for name, value in chosen.items() if value is None}
        return replace(self, **unset)

    def to_body(self) -> dict[str, Any]:
        """The options in the HTTP body's camelCase names (None kept: ``validate`` reads it)."""
        return {
            "model": self.model,
            "aspectRatio": self.aspect_ratio,
            "numImages": self.num_images,
            "resolution": self.resolution,
            "quality": self.quality,
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Options:
        """The options of a camelCase body (a journal row, a generate body), as written:
        nothing is checked against the catalog here, so ``validate`` can say what is wrong."""
        return cls(
            model=str(body.get("model") or ""),
            aspect_ratio=_text(body.get("aspectRatio")),
            num_images=_count(body.get("numImages")),
            resolution=_text(body.get("resolution")),
            quality=_text(body.get("quality")),
        )


def _offered(value: object, offered: tuple[str, ...]) -> str | None:
    return value if isinstance(value, str) and value in offered else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _count(value: object) -> int:
    """A stored count; anything that is not a positive whole number reads as one image."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
        return 1
    return int(value)
