"""The one interface every image provider implements (local, fal, wavespeed, azure).

A provider either answers at once with images (sync models) or returns a job id that the
status route asks about later (queued models). Providers never see our object store: the
route layer rehosts whatever they return (URLs or bytes) before a client sees it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from catalog import ModelSpec

if TYPE_CHECKING:
    from catalog.request import NormalizedInput

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
    # Our own name for the call (the billing hold's id): a provider that can look a job up
    # by it (``find_job``) lets a restarted server adopt a job its predecessor started.
    reference: str | None = None

    @classmethod
    def from_input(
        cls,
        normalized: NormalizedInput,
        attachment_urls: Iterable[str],
        reference: str | None = None,
    ) -> ProviderRequest:
        """The request for a normalized input whose references are ``attachment_urls``."""
        return cls(
            reference=reference,
            prompt=normalized.prompt,
            model=normalized.model,
            # Empty for models without an aspect ratio (GPT-Image 1 Edit keeps the input's).
            aspect_ratio=normalized.aspect_ratio or "",
            num_images=normalized.num_images,
            resolution=normalized.resolution,
            quality=normalized.quality,
            attachment_urls=tuple(attachment_urls),
        )


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

    # Providers may also implement (the cancel route and the billing sweeper call it when
    # present): ``async def cancel(self, model: ModelSpec, job_id: str) -> bool`` — ask the
    # provider to stop a queued or running job; True when the provider accepted the cancel
    # (the job will deliver nothing), False when it had already finished.
    # And ``async def find_job(self, model: ModelSpec, reference: str) -> str | None``: the
    # job a request with this ``reference`` started, if any (the local provider can; Fal,
    # Wavespeed and Azure cannot, so a server killed between their accepting a job and our
    # recording it leaves that job unbilled).
