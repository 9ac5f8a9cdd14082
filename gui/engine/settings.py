"""Last-used generation settings, persisted like the web app keeps them.

The web remembers the model, aspect ratio, count, resolution and quality. A stored value
that no longer fits (a model removed from the catalog, a ratio the model does not offer, a
count above its maximum) falls back to the model's default rather than failing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from catalog import MODELS, ModelSpec, picker_models

log = logging.getLogger(__name__)


def default_model_id() -> str:
    return picker_models()[0].id


@dataclass(frozen=True)
class LastUsedSettings:
    model: str
    aspect_ratio: str | None
    num_images: int
    resolution: str | None
    quality: str | None

    @classmethod
    def defaults(cls, model_id: str | None = None) -> LastUsedSettings:
        model = MODELS.get(model_id or "") or MODELS[default_model_id()]
        return cls(
            model=model.id,
            aspect_ratio=model.default_aspect_ratio,
            num_images=1,
            resolution=model.default_resolution,
            quality=model.default_quality,
        )

    def for_model(self, model_id: str) -> LastUsedSettings:
        """These settings carried over to another model, each value kept only if it fits."""
        return sanitize({**asdict(self), "model": model_id})


def _pick(value: Any, offered: tuple[str, ...], default: str | None) -> str | None:
    return value if isinstance(value, str) and value in offered else default


def sanitize(raw: Any) -> LastUsedSettings:
    """Settings from untrusted stored data; every invalid value becomes its default."""
    if not isinstance(raw, dict):
        return LastUsedSettings.defaults()
    model_id = raw.get("model")
    model: ModelSpec = MODELS.get(model_id) if isinstance(model_id, str) else None  # type: ignore[assignment]
    if model is None:
        return LastUsedSettings.defaults()
    count = raw.get("num_images")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        count = 1
    return LastUsedSettings(
        model=model.id,
        aspect_ratio=_pick(
            raw.get("aspect_ratio"), model.aspect_ratios, model.default_aspect_ratio
        ),
        num_images=min(count, model.max_images),
        resolution=_pick(raw.get("resolution"), model.resolutions, model.default_resolution),
        quality=_pick(raw.get("quality"), model.qualities, model.default_quality),
    )


class SettingsStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> LastUsedSettings:
        try:
            raw = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return LastUsedSettings.defaults()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable settings %s: %s", self.path, exc)
            return LastUsedSettings.defaults()
        return sanitize(raw)

    def save(self, settings: LastUsedSettings) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(sanitize(asdict(settings))), indent=2), "utf-8")
        tmp.replace(self.path)
