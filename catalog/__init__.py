"""The model catalog: the single source of truth both the client and the server use."""

from catalog.models import MODEL_IDS, MODELS, get_model, picker_models
from catalog.spec import VALID_ASPECT_RATIOS, AttachmentRule, ModelSpec

__all__ = [
    "MODELS",
    "MODEL_IDS",
    "VALID_ASPECT_RATIOS",
    "AttachmentRule",
    "ModelSpec",
    "get_model",
    "picker_models",
]
