"""Helpers the route modules share: app state access, rate limits, provider errors."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import httpx
from fastapi import Request

from backend.config import BackendConfig
from backend.errors import ApiError
from backend.providers.base import ProviderError, ProviderImage
from backend.rehost import Rehoster, RehostError
from backend.stored_image import StoredImage, stored_images

log = logging.getLogger(__name__)

# Every status a provider failure may be answered with (the OpenAPI document lists them);
# anything else a provider reports becomes a 502.
PROVIDER_STATUSES: tuple[int, ...] = (400, 404, 413, 422, 502, 503, 504)


def config_of(request: Request) -> BackendConfig:
    config: BackendConfig = request.app.state.config
    return config


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def rate_limit(request: Request, bucket: str, user_id: str, limit: int) -> None:
    """Count one request of ``user_id`` in ``bucket``; ApiError 429 past the limit."""
    config = config_of(request)
    await request.app.state.limiter.hit(f"{bucket}:{user_id}", limit, config.rate_limit_window_s)


def provider_failure(exc: ProviderError) -> ApiError:
    status = exc.status if exc.status in PROVIDER_STATUSES else 502
    return ApiError(status, exc.code or "provider_error", exc.message)


def provider_unreachable(exc: httpx.HTTPError) -> ApiError:
    # Never echo the exception: it can carry provider URLs (and query-string keys).
    log.warning("provider request failed: %s", type(exc).__name__)
    return ApiError(
        502, "provider_unavailable", "The image provider could not be reached. Please try again."
    )


async def rehost_images(request: Request, images: Iterable[ProviderImage]) -> list[StoredImage]:
    """Copy outputs into our store; 502 with a sentence when one cannot be kept."""
    rehoster: Rehoster = request.app.state.rehoster
    try:
        stored = await rehoster.rehost_all(images)
    except RehostError as exc:
        raise ApiError(502, "rehost_failed", exc.message) from exc
    if not stored:
        raise ApiError(502, "provider_error", "The provider finished without returning an image.")
    return stored


def images_body(images: Iterable[StoredImage | str]) -> dict[str, object]:
    """``{success, images: [{url, width?, height?, contentType?}]}``: the seed's
    ``[{url}]`` with the sizes a client lays its grid out with."""
    return {"success": True, "images": [i.to_json() for i in stored_images(images)]}
