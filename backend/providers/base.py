"""The one interface every image provider implements (local, fal, wavespeed, azure).

A provider either answers at once with images (sync models) or returns a job id that the
status route asks about later (queued models). Providers never see our object store: the
route layer rehosts whatever they return (URLs or bytes) before a client sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from catalog import ModelSpec

JobStatusName = Literal["IN_QUEUE", "IN_PROGRESS", "COMPLETED", "FAILED"]


@dataclass(frozen=True)
class ProviderRequest:
    """A validated request, normalised with the catalog's defaults and caps applied."""

    prompt: str
    model: ModelSpec
    aspect_ratio: str
    num_images: int
    resolution: str | None = None
    quality: str | None = None
    # Public URLs in our object store (already checked by the route layer).
    attachment_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProviderImage:
    """One output image: either a URL at the provider, or the bytes themselves."""

    url: str | None = None
    data: bytes | None = None
    content_type: str = "image/png"


@dataclass(frozen=True)
class SubmitResult:
    """Either ``images`` (sync) or ``job_id`` (queued), never both."""

    images: tuple[ProviderImage, ...] = ()
    job_id: str | None = None

    @property
    def queued(self) -> bool:
        return self.job_id is not None


@dataclass(frozen=True)
class JobState:
    status: JobStatusName
    position: int | None = None
    images: tuple[ProviderImage, ...] = ()
    error: str | None = None
    logs: tuple[str, ...] = field(default_factory=tuple)


class ProviderError(Exception):
    """A provider failed; ``message`` is a sentence a user understands (no keys, no URLs)."""

    def __init__(self, message: str, code: str = "provider_error", status: int = 502) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class Provider(Protocol):
    name: str

    async def submit(self, request: ProviderRequest) -> SubmitResult: ...

    async def status(self, model: ModelSpec, job_id: str) -> JobState: ...
