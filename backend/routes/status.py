"""GET /api/generate-images/status: where a queued job is, or its images once done.

The request id is signed (see backend.request_ids), so ownership and routing need no
shared state. ``wait=S`` makes it a long poll that answers as soon as the job finishes
(capped at ``config.max_wait_s``); without it, the answer is the web route's, immediately.

A long poll also ends when the job's hold is settled elsewhere — cancelled, given up at
its deadline, or finished by another request or server process — woken by the hold's
notification (backend.storage.notify) rather than by the provider's next status.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from backend.auth.deps import require_identity
from backend.auth.identity import Identity
from backend.billing.holds import Hold
from backend.billing.job_states import rehost_once, settle_job_state
from backend.billing.service import Billing
from backend.errors import ApiError, error_responses
from backend.openapi import BEARER, ok
from backend.providers.base import JobState, Provider, ProviderError
from backend.request_ids import RequestIdClaims
from backend.results_cache import ResultsCache, job_key
from backend.routes.common import (
    PROVIDER_STATUSES,
    config_of,
    images_body,
    provider_failure,
    provider_unreachable,
)
from backend.routes.schemas import StatusResult
from catalog import MODELS, ModelSpec

router = APIRouter(tags=["generate"])

# Providers without a native wait are polled this often during a long poll.
POLL_INTERVAL_S = 1.0
_TERMINAL = ("COMPLETED", "FAILED")


def parse_wait(raw: str | None, cap: float) -> float | None:
    """Seconds to wait, capped; None when absent. 400 for negative, NaN or non-numbers."""
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    # inf is fine (it means "as long as allowed"); NaN and negatives are not.
    if math.isnan(value) or value < 0:
        raise ApiError(400, "invalid_wait", "wait must be a number of seconds of at least 0.")
    return min(value, cap)


async def _poll_until(provider: Provider, model: ModelSpec, job_id: str, wait_s: float) -> JobState:
    """Long poll for providers with no ``wait`` of their own."""
    deadline = time.monotonic() + wait_s
    while True:
        state = await provider.status(model, job_id)
        remaining = deadline - time.monotonic()
        if state.status in _TERMINAL or remaining <= 0:
            return state
        await asyncio.sleep(min(POLL_INTERVAL_S, remaining))


async def job_state(
    provider: Provider, model: ModelSpec, job_id: str, wait_s: float | None
) -> JobState:
    try:
        if wait_s is None or wait_s <= 0:
            return await provider.status(model, job_id)
        wait = getattr(provider, "wait", None)
        if wait is not None:
            state: JobState = await wait(model, job_id, wait_s)
            return state
        return await _poll_until(provider, model, job_id, wait_s)
    except ProviderError as exc:
        raise provider_failure(exc) from exc
    except httpx.HTTPError as exc:
        raise provider_unreachable(exc) from exc


async def _job_or_settlement(
    billing: Billing,
    provider: Provider,
    model: ModelSpec,
    job_id: str,
    hold: Hold | None,
    wait_s: float | None,
) -> JobState | None:
    """The job's state (a long poll's, with ``wait_s``), or None as soon as its hold was
    settled by someone else meanwhile (the caller answers from the settlement)."""
    if wait_s is None or wait_s <= 0 or hold is None:
        return await job_state(provider, model, job_id, wait_s)
    job = asyncio.ensure_future(job_state(provider, model, job_id, wait_s))
    settled = asyncio.ensure_future(billing.wait_settled(hold, wait_s))
    try:
        done, _ = await asyncio.wait({job, settled}, return_when=asyncio.FIRST_COMPLETED)
        if job in done:
            return job.result()
        if settled.exception() is None and settled.result() is not None:
            return None
        return await job  # not settled (or its watch failed): the provider's wait decides
    finally:
        # The provider's wait is safe to stop: a render it started goes on (shielded).
        for task in (job, settled):
            task.cancel()
        await asyncio.gather(job, settled, return_exceptions=True)


async def _settled_answer(app_state: Any, claims: RequestIdClaims) -> tuple[Any, Hold | None]:
    """The answer when the job is already decided (its images cached, or its hold settled
    without images), else None; and the job's hold."""
    cache: ResultsCache = app_state.results
    key = job_key(claims.provider, claims.provider_request_id)
    # A finished job answers from the cache without asking the provider again.
    cached = await cache.get(key)
    if cached is not None:
        await settle_job_state(app_state, claims, JobState("COMPLETED"), urls=cached)
        return images_body(cached), None
    billing: Billing = app_state.billing
    hold = await billing.by_job(key)
    if hold is not None and hold.settled and hold.outcome != "completed":
        # Cancelled, or given up at its deadline: nothing was charged, nothing is delivered.
        error = (
            "The generation was cancelled."
            if hold.outcome == "cancelled"
            else ("The generation failed.")
        )
        return {"success": False, "error": error}, hold
    return None, hold


def claims_for(
    request: Request, identity: Identity, request_id: str, model_id: str
) -> RequestIdClaims:
    claims: RequestIdClaims = request.app.state.request_ids.decode(request_id)
    if claims.user_id != identity.user_id:
        raise ApiError(403, "forbidden", "This generation belongs to another account.")
    if claims.model_id != model_id:
        raise ApiError(
            400, "model_mismatch", "modelId does not match the model this request was made with."
        )
    if claims.model_id not in MODELS:
        raise ApiError(400, "unknown_model", "This request names a model we no longer offer.")
    return claims


@router.get(
    "/api/generate-images/status",
    summary="Status of a queued generation",
    description=(
        "`{queued: true, status, position?}`, `{success: true, images: [{url}]}` or "
        "`{success: false, error}`. `wait` (seconds, capped) turns it into a long poll."
    ),
    response_model=None,
    responses={
        **ok(StatusResult, "Still queued or running, finished with images, or failed."),
        **error_responses(400, 401, 403, 503, *PROVIDER_STATUSES),
    },
    openapi_extra=BEARER,
)
async def generation_status(
    request: Request,
    request_id: str = Query(alias="requestId", max_length=4096),
    model_id: str = Query(alias="modelId", max_length=200),
    wait: str | None = Query(default=None, max_length=32),
    identity: Identity = Depends(require_identity),
) -> JSONResponse:
    # Answered as a JSONResponse: the route's bodies are JSON already, and FastAPI's
    # jsonable_encoder walk of a returned dict cost more than the body's own encoding.
    return JSONResponse(await _answer(request, request_id, model_id, wait, identity))


async def _answer(
    request: Request, request_id: str, model_id: str, wait: str | None, identity: Identity
) -> dict[str, Any]:
    config = config_of(request)
    wait_s = parse_wait(wait, config.max_wait_s)
    claims = claims_for(request, identity, request_id, model_id)
    model = MODELS[claims.model_id]
    provider: Provider = request.app.state.providers.by_name(claims.provider)
    app_state = request.app.state
    # Its client is looking after this job: the sweeper need not (billing/sweeper.py).
    app_state.billing.note_polled(job_key(claims.provider, claims.provider_request_id))

    answer, hold = await _settled_answer(app_state, claims)
    if answer is not None:
        return answer
    job_id = claims.provider_request_id
    state = await _job_or_settlement(app_state.billing, provider, model, job_id, hold, wait_s)
    if state is None:  # settled elsewhere while we waited: answer from that settlement
        answer, _ = await _settled_answer(app_state, claims)
        if answer is not None:
            return answer
        state = await job_state(provider, model, job_id, None)
    if state.status == "COMPLETED":
        urls = await rehost_once(app_state, claims, state.images)
        await settle_job_state(app_state, claims, state, urls=urls)
        return images_body(urls)
    if state.status == "FAILED":
        await settle_job_state(app_state, claims, state)
        return {"success": False, "error": state.error or "The generation failed."}
    body: dict[str, Any] = {"queued": True, "status": state.status}
    if state.position is not None:
        body["position"] = state.position
    return body
