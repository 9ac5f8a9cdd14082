"""The HTTP API's bodies and answers as pydantic models, for the OpenAPI document.

The routes read their JSON bodies themselves (any body gets a sentence, never FastAPI's
422) and answer plain dicts, so these models *describe* the wire format: ``openapi.py``
puts them in the document, and schemathesis checks every live answer against them.
Camel-case field names are the wire names. Catalog and JWKS entries allow extra keys, so
a field added there later is not a schema violation.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.store.base import ALLOWED_CONTENT_TYPES
from catalog import MODELS
from catalog.spec import VALID_ASPECT_RATIOS
from catalog.validation import MAX_PROMPT_CHARS

# -- requests -----------------------------------------------------------------------------


class AttachmentImage(BaseModel):
    url: str = Field(description="A URL of this server's store (from a presigned upload).")


class GenerateBody(BaseModel):
    """The body of POST /api/mobile/generate-images. The catalog's rules decide the rest
    (which ratios, resolutions and qualities a model takes, how many attachments)."""

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    model: str = Field(json_schema_extra={"enum": sorted(MODELS)})
    aspectRatio: str | None = Field(
        default=None, json_schema_extra={"enum": [*VALID_ASPECT_RATIOS, None]}
    )
    numImages: int | None = Field(default=None, ge=1, le=max(m.max_images for m in MODELS.values()))
    attachmentImages: list[AttachmentImage] | None = None
    resolution: str | None = None
    quality: str | None = None
    idempotencyKey: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_\-:.]{8,128}$",
        description="One call: the server acquires the slot, reserves the cost, adds the "
        "loading row and replays the first answer for a repeated key (docs/billing.md).",
    )
    concurrencySlotId: str | None = Field(
        default=None, description="The seed's flow: the slot acquired (and cost reserved) first."
    )
    sessionId: str | None = Field(default=None, description="Add the loading row here.")
    sessionTitle: str | None = Field(
        default=None, max_length=200, description="Or create a session with this title."
    )


class CancelBody(BaseModel):
    """Name the generation by its request id, or by the idempotency key it was made with."""

    requestId: str | None = None
    modelId: str | None = None
    idempotencyKey: str | None = None


class GenerateWebBody(GenerateBody):
    turnstileToken: str = Field(description="The Cloudflare Turnstile token of the page.")


class PresignBody(BaseModel):
    contentType: str = Field(
        description='The upload\'s type, e.g. "image/png".',
        json_schema_extra={"enum": sorted(ALLOWED_CONTENT_TYPES)},
    )
    size: int | None = Field(
        default=None,
        ge=0,
        description=(
            "The upload's size in bytes; the link then takes exactly that many. "
            "Required when the server stores files in R2."
        ),
    )


class PresignWebBody(PresignBody):
    turnstileToken: str


class DevTokenBody(BaseModel):
    userId: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.@:+-]{1,128}$", description="Defaults to local."
    )


# -- answers ------------------------------------------------------------------------------


class ImageUrl(BaseModel):
    url: str
    width: int | None = Field(
        default=None, ge=1, description="The original's displayed width in pixels."
    )
    height: int | None = Field(
        default=None, ge=1, description="The original's displayed height in pixels."
    )
    contentType: str | None = Field(
        default=None,
        description="The original's type. Display-size WebP copies sit beside it at the "
        "URLs of catalog.image_variants when /healthz lists the image-variants feature.",
    )


class ImagesResult(BaseModel):
    """Finished: the images, already copied into this server's store."""

    success: Literal[True]
    images: list[ImageUrl]


class QueuedResult(BaseModel):
    """A queued model's job: poll GET /api/generate-images/status with ``requestId``."""

    queued: Literal[True]
    requestId: str


class StatusQueued(BaseModel):
    queued: Literal[True]
    status: Literal["IN_QUEUE", "IN_PROGRESS"]
    position: int | None = Field(default=None, ge=1, description="Only while IN_QUEUE.")


class StatusFailed(BaseModel):
    success: Literal[False]
    error: str = Field(description="Why, as a sentence.")


class CancelResult(BaseModel):
    cancelled: bool
    billing: dict[str, object]


GenerateResult = ImagesResult | QueuedResult


class PreviewResult(BaseModel):
    """The provider request generate would send (routes/preview.py); never any key."""

    provider: Literal["fal", "wavespeed", "azure"]
    endpoint: str = Field(description="The provider's endpoint id (Azure: its URL's variable).")
    method: Literal["POST"]
    url: str
    contentType: Literal["application/json", "multipart/form-data"]
    body: dict[str, object]
    calls: int = Field(ge=1, description="How many calls (one per image where needed).")
    notes: list[str]


StatusResult = ImagesResult | StatusFailed | StatusQueued


class PresignResult(BaseModel):
    uploadUrl: str = Field(description="PUT the bytes here with the same Content-Type.")
    publicUrl: str
    key: str
    expiresIn: int = Field(description="Seconds until uploadUrl expires.")


class DevTokenResult(BaseModel):
    token: str
    expiresIn: int


class HealthResult(BaseModel):
    ok: Literal[True]
    mode: Literal["embedded", "server"]
    providers: dict[str, Literal["real", "local", "not_configured"]]
    store: Literal["r2", "local"]
    features: list[str] = Field(
        default_factory=list,
        description='What clients may rely on: "server-billing", "cancel", "image-variants".',
    )
    references: Literal["fal-storage", "public-store"] | None = None


class Jwk(BaseModel):
    model_config = ConfigDict(extra="allow")

    kty: str
    kid: str


class Jwks(BaseModel):
    keys: list[Jwk]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class CatalogAttachments(_Open):
    min: int
    max: int


class CatalogDefaults(_Open):
    aspectRatio: str | None
    resolution: str | None
    quality: str | None


class CatalogPrice(_Open):
    aspectRatio: str | None = None
    resolution: str | None = None
    quality: str | None = None
    costPerImage: float


class CatalogModel(_Open):
    id: str
    label: str
    company: str
    description: str
    logo: str | None
    isNew: bool
    inPicker: bool
    provider: str
    endpoint: str
    altEndpoints: dict[str, str]
    callType: Literal["sync", "queued"]
    attachments: CatalogAttachments
    aspectRatios: list[str]
    resolutions: list[str]
    qualities: list[str]
    maxImages: int
    editVariant: str | None
    baseModel: str | None
    defaults: CatalogDefaults
    pricing: list[CatalogPrice]


class CatalogDocument(_Open):
    version: int
    aspectRatios: list[str]
    models: list[CatalogModel]


# Request bodies the routes read themselves: ``openapi.py`` adds them to the components.
REQUEST_BODIES: tuple[type[BaseModel], ...] = (
    GenerateBody,
    GenerateWebBody,
    CancelBody,
    PresignBody,
    PresignWebBody,
    DevTokenBody,
)
