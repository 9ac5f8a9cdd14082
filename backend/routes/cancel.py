"""POST /api/generate-images/cancel: stop a generation and release what it holds.

Named by the signed request id (``{requestId, modelId}``, owner only, like the status
route) or by the idempotency key it was made with (``{idempotencyKey}``, which also works
while the provider call is still in flight). The provider job is cancelled where the
provider can, and the hold is settled as cancelled: nothing is charged.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from backend.auth.deps import require_identity
from backend.auth.identity import Identity
from backend.billing.holds import Hold
from backend.billing.job_states import cancel_hold
from backend.billing.service import Billing
from backend.errors import ApiError, error_responses
from backend.openapi import BEARER, ok, request_body
from backend.results_cache import job_key
from backend.routes.body import read_json_object
from backend.routes.common import config_of, rate_limit
from backend.routes.schemas import CancelBody, CancelResult
from backend.routes.status import claims_for

router = APIRouter(tags=["generate"])

_NOT_FOUND = ApiError(404, "not_found", "No generation of yours has this id.")


async def _hold_of(request: Request, identity: Identity, body: dict[str, Any]) -> Hold:
    billing: Billing = request.app.state.billing
    key = body.get("idempotencyKey")
    if key is not None:
        if not isinstance(key, str) or not 0 < len(key) <= 128:
            raise ApiError(400, "invalid_request", "idempotencyKey must be a key you sent.")
        hold = await billing.by_key(identity, key)
    else:
        request_id, model_id = body.get("requestId"), body.get("modelId")
        if not isinstance(request_id, str) or not isinstance(model_id, str):
            raise ApiError(
                400,
                "invalid_request",
                "Name the generation: {requestId, modelId} or {idempotencyKey}.",
            )
        claims = claims_for(request, identity, request_id, model_id)
        hold = await billing.by_job(job_key(claims.provider, claims.provider_request_id))
    if hold is None:
        raise _NOT_FOUND
    return hold


@router.post(
    "/api/generate-images/cancel",
    summary="Cancel a generation",
    description=(
        "Body `{requestId, modelId}` or `{idempotencyKey}`. Stops the provider's job where "
        "the provider can, and releases the held credits (nothing is charged) unless the "
        "job had already delivered. Answers `{cancelled, billing}`."
    ),
    response_model=None,
    responses={
        **ok(CancelResult, "Whether the generation was cancelled, and its settlement."),
        **error_responses(400, 401, 403, 404, 429),
    },
    openapi_extra={**request_body(CancelBody), **BEARER},
)
async def cancel_generation(
    request: Request, identity: Identity = Depends(require_identity)
) -> Any:
    config = config_of(request)
    await rate_limit(request, "cancel", identity.user_id, config.rate_limit_generate)
    body = await read_json_object(request)
    hold = await _hold_of(request, identity, body)
    after = await cancel_hold(request.app.state, hold)
    cancelled = after.outcome == "cancelled" or (not after.settled and after.cancel_requested)
    return {"cancelled": cancelled, "billing": after.billing()}
