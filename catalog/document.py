"""The catalog as one JSON document.

`imagegen models --json` prints it and the backend serves it at GET /api/mobile/models, so a
client learns new models (and their prices) without an update. Keys are camelCase like the
rest of the HTTP API.
"""

from __future__ import annotations

from typing import Any

from catalog.models import picker_models
from catalog.pricing import price_table
from catalog.spec import VALID_ASPECT_RATIOS, ModelSpec

DOCUMENT_VERSION = 1


def model_entry(model: ModelSpec) -> dict[str, Any]:
    """One model's entry of the document."""
    return {
        "id": model.id,
        "label": model.label,
        "company": model.company,
        "description": model.description,
        "logo": model.logo,
        "isNew": model.is_new,
        "inPicker": model.in_picker,
        "provider": model.provider,
        "endpoint": model.endpoint,
        "altEndpoints": dict(model.alt_endpoints),
        "callType": model.call_type,
        "attachments": {"min": model.attachments.min, "max": model.attachments.max},
        "aspectRatios": list(model.aspect_ratios),
        "resolutions": list(model.resolutions),
        "qualities": list(model.qualities),
        "maxImages": model.max_images,
        "editVariant": model.edit_variant,
        "baseModel": model.base_model,
        "defaults": {
            "aspectRatio": model.default_aspect_ratio,
            "resolution": model.default_resolution,
            "quality": model.default_quality,
        },
        "pricing": [row.to_json() for row in price_table(model.id)],
    }


def catalog_document() -> dict[str, Any]:
    """Every model (hidden ones included, flagged by ``inPicker``), in picker order."""
    return {
        "version": DOCUMENT_VERSION,
        "aspectRatios": list(VALID_ASPECT_RATIOS),
        "models": [model_entry(m) for m in picker_models(show_all=True)],
    }
