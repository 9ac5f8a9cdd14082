"""POST /api/mobile/generate-images (desktop/mobile) and POST /api/generate-images (web).

Both take the same body; the web route also needs a Turnstile token. Sync models answer
with images already in our store; queued models answer with a signed, opaque request id
for GET /api/generate-images/status.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from backend.attachment_guard import check_attachment_urls
from backend.auth.deps import require_identity
from backend.auth.identity import Identity
from backend.errors import ApiError, error_responses
from backend.openapi import BEARER, ok, request_body
from backend.providers.base import ProviderError, ProviderRequest
from backend.routes.body import read_json_object
from backend.routes.common import (
    PROVIDER_STATUSES,
    client_ip,
    config_of,
    images_body,
    provider_failure,
    provider_unreachable,
    rate_limit,
    rehost_images,
)
from backend.routes.schemas import GenerateBody, GenerateResult, GenerateWebBody
from backend.turnstile import verify_turnstile
from catalog import GenerationInput, normalize, validate

router = APIRouter(tags=["generate"])

_BODY_DOC = (
    "Body: `{prompt, model, aspectRatio?, numImages?, attachmentImages?: [{url}], "
    "resolution?, quality?}`. Answers `{success: true, images: [{url}]}` for sync models or "
    "`{queued: true, requestId}` for queued ones."
)


_ANSWERS = {
    **ok(GenerateResult, "Images (sync models) or a request id to poll (queued models)."),
    **error_responses(400, 401, 413, 429, 503, *PROVIDER_STATUSES),
}


def _pydantic_sentence(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'is invalid')}" if where else err.get("msg", ""))
    return "The request is invalid: " + "; ".join(parts) + "."


def parse_generation(body: dict[str, Any]) -> GenerationInput:
    """Validate with the catalog's rules (every problem, as sentences) and parse."""
    problems = validate(body)
    if problems:
        raise ApiError(400, "invalid_request", " ".join(p.message for p in problems))
    try:
        return GenerationInput.model_validate(body)
    except ValidationError as exc:
        raise ApiError(400, "invalid_request", _pydantic_sentence(exc)) from exc


async def run_generation(request: Request, identity: Identity, body: dict[str, Any]) -> Any:
    state = request.app.state
    config = config_of(request)
    normalized = normalize(parse_generation(body))
    attachments = check_attachment_urls(
        list(normalized.attachment_urls), state.store, config.attachment_allow_list
    )
    provider = state.providers.for_model(normalized.model)
    provider_request = ProviderRequest(
        prompt=normalized.prompt,
        model=normalized.model,
        # Empty for models without an aspect ratio (GPT-Image 1 Edit keeps the input's).
        aspect_ratio=normalized.aspect_ratio or "",
        num_images=normalized.num_images,
        resolution=normalized.resolution,
        quality=normalized.quality,
        attachment_urls=tuple(attachments),
    )
    try:
        result = await provider.submit(provider_request)
    except ProviderError as exc:
        raise provider_failure(exc) from exc
    except httpx.HTTPError as exc:
        raise provider_unreachable(exc) from exc
    if result.job_id is not None:
        request_id = state.request_ids.encode(
            provider.name, result.job_id, identity.user_id, normalized.model.id
        )
        return {"queued": True, "requestId": request_id}
    return images_body(await rehost_images(request, result.images))


@router.post(
    "/api/mobile/generate-images",
    summary="Generate images (desktop/mobile)",
    description=_BODY_DOC,
    response_model=None,
    responses=_ANSWERS,
    openapi_extra={**request_body(GenerateBody), **BEARER},
)
async def generate_mobile(request: Request, identity: Identity = Depends(require_identity)) -> Any:
    config = config_of(request)
    await rate_limit(request, "gen", identity.user_id, config.rate_limit_generate)
    body = await read_json_object(request)
    return await run_generation(request, identity, body)


@router.post(
    "/api/generate-images",
    summary="Generate images (web, Turnstile)",
    description=_BODY_DOC + " Also needs `turnstileToken`.",
    response_model=None,
    # 403 and 502 also come from the Turnstile check.
    responses={**_ANSWERS, **error_responses(403, 502)},
    openapi_extra={**request_body(GenerateWebBody), **BEARER},
)
async def generate_web(request: Request, identity: Identity = Depends(require_identity)) -> Any:
    config = config_of(request)
    await rate_limit(request, "gen", identity.user_id, config.rate_limit_generate)
    body = await read_json_object(request)
    await verify_turnstile(body.pop("turnstileToken", None), config, client_ip(request))
    return await run_generation(request, identity, body)
