"""The model catalog: the single source of truth both the client and the server use."""

from catalog.document import catalog_document
from catalog.models import MODEL_IDS, MODELS, edit_variant_for, get_model, picker_models
from catalog.options import Options
from catalog.pricing import cost, cost_per_image, price_table
from catalog.spec import VALID_ASPECT_RATIOS, AttachmentRule, ModelSpec
from catalog.validation import (
    GenerationInput,
    InvalidGenerationInput,
    NormalizedInput,
    Problem,
    kling_mentions,
    normalize,
    validate,
)

__all__ = [
    "MODELS",
    "MODEL_IDS",
    "VALID_ASPECT_RATIOS",
    "AttachmentRule",
    "GenerationInput",
    "InvalidGenerationInput",
    "ModelSpec",
    "NormalizedInput",
    "Options",
    "Problem",
    "catalog_document",
    "cost",
    "cost_per_image",
    "edit_variant_for",
    "get_model",
    "kling_mentions",
    "normalize",
    "picker_models",
    "price_table",
    "validate",
]
