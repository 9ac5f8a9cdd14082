"""POST /api/mobile/generate-images/preview and POST /api/generate-images/preview (web).

A dry run of generate: the same body, the same auth and the same checks (catalog rules,
billing fields, attachment URLs, a provider for the model), answered with the provider
request generate would send (``providers/request_preview.py``). No provider is called, no
slot taken, no credit reserved and no row added: QA and the model sheet read it freely. It
counts in its own rate-limit bucket, so previewing never uses up a user's generations.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from backend.auth.deps import require_identity
from backend.auth.identity import Identity
from backend.errors import error_responses
from backend.openapi import BEARER, ok, request_body
from backend.providers.base import ProviderRequest
from backend.providers.request_preview import preview_request
from backend.routes.body import read_json_object
from backend.routes.common import client_ip, config_of, rate_limit
from backend.routes.generate import check_generation
from backend.routes.schemas import GenerateBody, GenerateWebBody, PreviewResult
from backend.turnstile import verify_turnstile

router = APIRouter(tags=["generate"])

_DOC = (
    "The body of generate; answers `{provider, endpoint, method, url, contentType, body, "
    "calls, notes}`: the request the model's provider would receive. Calls no provider and "
    "touches no credits; invalid bodies get generate's refusals."
)
_ANSWERS = {
    **ok(PreviewResult, "The provider request generate would send."),
    **error_responses(400, 401, 403, 413, 429, 503),
}


async def _preview(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    normalized, _, attachments = await check_generation(request, body)
    # The same refusal as generate when no provider can run the model (503).
    served_by = request.app.state.providers.for_model(normalized.model).name
    job = ProviderRequest.from_input(normalized, attachments)
    return preview_request(job, served_by).to_json()


@router.post(
    "/api/mobile/generate-images/preview",
    summary="Preview the provider request (desktop/mobile)",
    description=_DOC,
    response_model=None,
    responses=_ANSWERS,
    openapi_extra={**request_body(GenerateBody), **BEARER},
)
async def preview_mobile(
    request: Request, identity: Identity = Depends(require_identity)
) -> dict[str, Any]:
    config = config_of(request)
    await rate_limit(request, "preview", identity.user_id, config.rate_limit_generate)
    return await _preview(request, await read_json_object(request))


@router.post(
    "/api/generate-images/preview",
    summary="Preview the provider request (web, Turnstile)",
    description=_DOC + " Also needs `turnstileToken`.",
    response_model=None,
    responses={**_ANSWERS, **error_responses(502)},
    openapi_extra={**request_body(GenerateWebBody), **BEARER},
)
async def preview_web(
    request: Request, identity: Identity = Depends(require_identity)
) -> dict[str, Any]:
    config = config_of(request)
    await rate_limit(request, "preview", identity.user_id, config.rate_limit_generate)
    body = await read_json_object(request)
    await verify_turnstile(body.pop("turnstileToken", None), config, client_ip(request))
    return await _preview(request, body)
