"""Typed results of the Convex functions the engine calls (design.md §4).

Deployments differ in small ways (older function versions answer a bare id where newer
ones answer ``{ok, generationId}``, or ``true`` where others answer ``{success}``), so each
model has a ``from_value`` that accepts every variant seen in the wild and normalises it.
Numbers arrive as floats (Convex numbers are float64) and are coerced where they are counts.

Times: Convex documents count milliseconds since the epoch (``Date.now()``); these records
hold seconds (``time.time()``), converted here once, so nothing past this edge guesses a
unit. ``to_convex_time`` is the way back, for the arguments the gateway sends.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

MS_PER_S = 1000.0


def from_convex_time(ms: float) -> float:
    """A Convex timestamp (milliseconds) in seconds."""
    return ms / MS_PER_S


def to_convex_time(seconds: float) -> float:
    """Seconds since the epoch as a Convex timestamp (milliseconds)."""
    return seconds * MS_PER_S


# A field holding a Convex timestamp: milliseconds in the document, seconds on the record.
ConvexTime = Annotated[float, AfterValidator(from_convex_time)]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class SlotResult(_Model):
    """``generations:acquireGenerationSlot``: a slot id, or why none was given."""

    ok: bool
    generation_id: str | None = None
    reason: str | None = None
    limit: int | None = None
    active: int | None = None
    message: str | None = None

    @classmethod
    def from_value(cls, value: Any) -> SlotResult:
        if isinstance(value, str) and value:
            return cls(ok=True, generation_id=value)  # older deployments: the bare id
        if not isinstance(value, dict):
            return cls(ok=False, reason="unexpected", message=f"Unexpected answer: {value!r}")
        generation_id = value.get("generationId") or value.get("_id") or value.get("id")
        ok = value.get("ok", value.get("success"))
        if ok is None:
            ok = bool(generation_id)
        limit, active = _int(value.get("limit")), _int(value.get("active"))
        reason = value.get("reason")
        message = value.get("message")
        if not ok and message is None and reason == "limit_reached":
            message = (
                f"You already have {active} generations running (the limit is {limit}). "
                "Wait for one to finish."
                if limit is not None and active is not None
                else "Too many generations are running. Wait for one to finish."
            )
        return cls(
            ok=bool(ok),
            generation_id=str(generation_id) if ok and generation_id else None,
            reason=reason if isinstance(reason, str) else (None if ok else "unavailable"),
            limit=limit,
            active=active,
            message=message if isinstance(message, str) else None,
        )


class CreditResult(_Model):
    """``users:reserveCredits`` and friends: ``{success, message?}`` or a boolean."""

    success: bool
    message: str | None = None

    @classmethod
    def from_value(cls, value: Any) -> CreditResult:
        if isinstance(value, bool):
            return cls(success=value, message=None if value else "Not enough credits.")
        if value is None:
            return cls(success=True)  # mutations that return nothing succeeded
        if isinstance(value, dict):
            success = value.get("success", value.get("ok", False))
            message = value.get("message") or value.get("error")
            if not success and not message:
                message = "Not enough credits."
            return cls(success=bool(success), message=str(message) if message else None)
        return cls(success=False, message=f"Unexpected answer: {value!r}")


class UserCredits(_Model):
    total_credits: float = Field(alias="totalCredits")
    credits: float = 0.0
    additional_credits: float = Field(default=0.0, alias="additionalCredits")

    @classmethod
    def from_value(cls, value: Any) -> UserCredits:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return cls(totalCredits=value, credits=value)
        data = dict(value or {})
        credits = float(data.get("credits") or 0)
        additional = float(data.get("additionalCredits") or 0)
        total = data.get("totalCredits", credits + additional)
        return cls(totalCredits=total, credits=credits, additionalCredits=additional)


class CreditsBreakdown(_Model):
    total: float = 0.0
    reserved: float = 0.0
    available: float = 0.0

    @classmethod
    def from_value(cls, value: Any) -> CreditsBreakdown:
        data = dict(value or {})
        total = float(data.get("total") or 0)
        reserved = float(data.get("reserved") or 0)
        available = data.get("available")
        return cls(
            total=total,
            reserved=reserved,
            available=float(available) if available is not None else max(0.0, total - reserved),
        )


class GenerationImage(_Model):
    url: str
    width: int | None = None
    height: int | None = None


class SessionSummary(_Model):
    id: str = Field(alias="_id")
    title: str = ""
    type: str = "image"
    preview: str | None = None
    created_at: ConvexTime = Field(default=0.0, alias="createdAt")
    updated_at: ConvexTime = Field(default=0.0, alias="updatedAt")

    @field_validator("preview", mode="before")
    @classmethod
    def _preview_url(cls, value: Any) -> Any:
        # Some deployments store the preview as an image object.
        return value.get("url") if isinstance(value, dict) else value


class SessionGeneration(_Model):
    id: str = Field(alias="_id")
    session_id: str | None = Field(default=None, alias="sessionId")
    prompt: str = ""
    model: str = ""
    model_label: str | None = Field(default=None, alias="modelLabel")
    aspect_ratio: str | None = Field(default=None, alias="aspectRatio")
    num_images: int = Field(default=1, alias="numImages")
    images: list[GenerationImage] = Field(default_factory=list)
    is_loading: bool = Field(default=False, alias="isLoading")
    error: str | None = None
    created_at: ConvexTime = Field(default=0.0, alias="createdAt")
    completed_at: ConvexTime | None = Field(default=None, alias="completedAt")
    external_request_id: str | None = Field(default=None, alias="externalRequestId")
    concurrency_slot_id: str | None = Field(default=None, alias="concurrencySlotId")
    quality: str | None = None
    is_favorite: bool = Field(default=False, alias="isFavorite")
    favorite_image_urls: list[str] = Field(default_factory=list, alias="favoriteImageUrls")

    @field_validator("images", mode="before")
    @classmethod
    def _images(cls, value: Any) -> Any:
        # Accept bare URL strings as well as {url} objects; drop entries without a URL.
        out = []
        for item in value or []:
            if isinstance(item, str):
                out.append({"url": item})
            elif isinstance(item, dict) and isinstance(item.get("url"), str):
                out.append(item)
        return out

    @field_validator("num_images", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        return _int(value) or 1

    @property
    def image_urls(self) -> list[str]:
        return [img.url for img in self.images]
