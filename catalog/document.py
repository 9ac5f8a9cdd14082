"""The catalog as one JSON document.

`imagegen models --json` prints it and the backend serves it at GET /api/mobile/models, so a
client learns new models (and their prices) without an update. Keys are camelCase like the
rest of the HTTP API.
"""

from __future__ import annotations

from typing import Any

from catalog.models import picker_models
from catalog.pricing import price_table
from catalog.sizes import size_rule
from catalog.spec import VALID_ASPECT_RATIOS, AttachmentRule, ModelSpec

DOCUMENT_VERSION = 1


def attachments_entry(rule: AttachmentRule) -> dict[str, Any]:
    """How many references, how large each may be, and the modes a count selects."""
    return {
        "min": rule.min,
        "max": rule.max,
        "maxFileBytes": rule.max_file_bytes,
        "maxTotalImages": rule.max_total_images,
        "modes": [
            {
                "name": m.name,
                "endpoint": m.endpoint,
                "min": m.min,
                "max": m.max,
                "maxFileBytes": m.max_file_bytes,
            }
            for m in rule.modes
        ],
    }


def model_entry(model: ModelSpec) -> dict[str, Any]:
    """One model's entry of the document."""
    sizes = size_rule(model.id)
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
        "attachments": attachments_entry(model.attachments),
        "aspectRatios": list(model.aspect_ratios),
        "resolutions": list(model.resolutions),
        "qualities": list(model.qualities),
        "maxImages": model.max_images,
        "imagesPerCall": model.images_per_call,
        "promptMinLength": model.prompt_min_length,
        "promptMaxLength": model.prompt_max_length,
        # Whether the output sizes are the provider's documented ones, and where from.
        "outputSizes": {"exact": sizes.exact, "source": sizes.source},
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
