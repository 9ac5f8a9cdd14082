"""GET /healthz: is the backend up, which mode, and which providers are real or local."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from backend.openapi import ok
from backend.providers.registry import ProviderRegistry
from backend.routes.common import config_of
from backend.routes.schemas import HealthResult
from catalog.image_variants import FEATURE as IMAGE_VARIANTS

router = APIRouter(tags=["health"])


def provider_modes(registry: ProviderRegistry) -> dict[str, str]:
    """ "real" (key configured), "local" (local provider stands in) or "not_configured"."""
    fallback = "local" if registry.local_allowed else "not_configured"
    return {
        name: "real" if registry.is_configured(name) else fallback
        for name in ("fal", "wavespeed", "azure")
    }


@router.get(
    "/healthz",
    summary="Liveness and configuration summary",
    response_model=None,
    responses=ok(HealthResult, "The backend is up; which mode and which providers."),
)
async def healthz(request: Request) -> dict[str, Any]:
    config = config_of(request)
    return {
        "ok": True,
        "mode": "embedded" if config.embedded else "server",
        "providers": provider_modes(request.app.state.providers),
        "store": "r2" if config.r2_configured else "local",
        # How Fal gets reference images: our public store's URLs, or uploads to Fal storage.
        "references": config.fal_references,
        # What clients may rely on (docs/billing.md): the desktop engine takes the one-call
        # path only when the server settles money itself.
        # "image-variants": stored images have display-size WebP copies at the URLs of
        # catalog.image_variants (docs/images.md), so a grid need not fetch originals.
        "features": (["server-billing"] if config.advertise_server_billing else [])
        + ["cancel", IMAGE_VARIANTS],
    }
