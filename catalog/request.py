"""The shapes of a generation request: what arrives, what is wrong with it, what runs.

The rules that connect them live in catalog.validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from catalog.pricing import cost
from catalog.spec import ModelSpec

_NULL_MEANS_ABSENT = frozenset(
    {
        "attachmentImages",
        "attachment_images",
        "attachmentCount",
        "attachment_count",
        "attachmentSizes",
        "attachment_sizes",
    }
)


@dataclass(frozen=True)
class Problem:
    """One reason a request cannot run. `field` names the request field (camelCase)."""

    code: str
    field: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}


class AttachmentImage(BaseModel):
    url: str


class GenerationInput(BaseModel):
    """The HTTP body of POST /api/mobile/generate-images (camelCase), or the same by name.

    The client validates before uploading, when it only knows how many files are attached:
    it passes `attachment_count` instead of URLs, and `attachment_sizes` (bytes per file)
    once it knows them, so per-file provider limits (Reve remix: under 10 MB) are checked.
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    prompt: str = ""
    model: str = ""
    aspect_ratio: str | None = Field(default=None, alias="aspectRatio")
    num_images: int | None = Field(default=None, alias="numImages")
    attachment_images: list[AttachmentImage] = Field(default_factory=list, alias="attachmentImages")
    attachment_count: int = Field(default=0, alias="attachmentCount")
    attachment_sizes: list[int] | None = Field(default=None, alias="attachmentSizes")
    resolution: str | None = None
    quality: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_plain_urls(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        # JSON null means "absent" for the list and the count, as it does in `validate`.
        data = {k: v for k, v in data.items() if not (v is None and k in _NULL_MEANS_ABSENT)}
        # Python callers may pass `attachment_urls=[...]` instead of [{url}] objects.
        urls = data.pop("attachment_urls", None)
        if urls is not None and not {"attachmentImages", "attachment_images"} & data.keys():
            data["attachmentImages"] = [{"url": u} for u in urls]
        return data

    @property
    def attachment_urls(self) -> tuple[str, ...]:
        return tuple(a.url for a in self.attachment_images)

    def to_body(self) -> dict[str, Any]:
        """The camelCase mapping `validate` reads (and the HTTP body, minus the count)."""
        body = self.model_dump(by_alias=True, exclude={"attachment_images"})
        body["attachmentImages"] = [{"url": u} for u in self.attachment_urls]
        return body


@dataclass(frozen=True)
class NormalizedInput:
    """A valid request with every default applied; what providers and the engine use."""

    prompt: str
    model: ModelSpec
    aspect_ratio: str | None
    num_images: int
    resolution: str | None
    quality: str | None
    attachment_urls: tuple[str, ...]

    @property
    def model_id(self) -> str:
        return self.model.id

    @property
    def cost(self) -> int:
        return cost(
            self.model.id,
            self.num_images,
            aspect_ratio=self.aspect_ratio,
            resolution=self.resolution,
            quality=self.quality,
        )

    def to_body(self) -> dict[str, Any]:
        """The camelCase HTTP body for POST /api/mobile/generate-images."""
        body: dict[str, Any] = {
            "prompt": self.prompt,
            "model": self.model.id,
            "numImages": self.num_images,
        }
        if self.aspect_ratio is not None:
            body["aspectRatio"] = self.aspect_ratio
        if self.attachment_urls:
            body["attachmentImages"] = [{"url": u} for u in self.attachment_urls]
        if self.resolution is not None:
            body["resolution"] = self.resolution
        if self.quality is not None:
            body["quality"] = self.quality
        return body


class InvalidGenerationInput(ValueError):
    """Raised by `normalize` for a request `validate` rejects; carries every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(" ".join(p.message for p in problems))
        self.problems = problems
