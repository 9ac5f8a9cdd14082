"""POST /api/mobile/generate-images (desktop/mobile) and POST /api/generate-images (web).

Both take the same body; the web route also needs a Turnstile token. Sync models answer
with images already in our store; queued models answer with a signed, opaque request id
for GET /api/generate-images/status.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Coroutine
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from backend.attachment_guard import check_attachment_urls, stored_sizes
from backend.auth.deps import require_identity
from backend.auth.identity import Identity
from backend.billing.holds import Hold, HoldRequest
from backend.billing.job_states import cancel_hold
from backend.billing.service import Answer, Billing, body_hash, check_key, with_billing
from backend.errors import ApiError, error_responses
from backend.openapi import BEARER, ok, request_body
from backend.providers.base import Provider, ProviderError, ProviderRequest
from backend.results_cache import job_key as results_job_key
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
from backend.store.base import ObjectStore
from backend.turnstile import verify_turnstile
from backend.variant_writer import VariantWriter
from catalog import MODELS, GenerationInput, normalize, validate
from catalog.request import NormalizedInput

log = logging.getLogger(__name__)
INTERNAL = ApiError(500, "internal", "Something went wrong on the server. Please try again.")

router = APIRouter(tags=["generate"])

_BODY_DOC = (
    "Body: `{prompt, model, aspectRatio?, numImages?, attachmentImages?: [{url}], "
    "resolution?, quality?}`. Answers `{success: true, images: [{url}]}` for sync models or "
    "`{queued: true, requestId}` for queued ones."
)


_ANSWERS = {
    **ok(GenerateResult, "Images (sync models) or a request id to poll (queued models)."),
    **error_responses(400, 401, 402, 403, 409, 413, 429, 503, *PROVIDER_STATUSES),
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


async def _measure_attachments(body: dict[str, Any], store: ObjectStore) -> None:
    """Where the provider caps each reference's size, the sizes are the stored files',
    never the client's word."""
    body.pop("attachmentSizes", None)
    model = MODELS.get(body.get("model")) if isinstance(body.get("model"), str) else None
    images = body.get("attachmentImages")
    if model is None or not isinstance(images, list) or not images:
        return
    if model.attachments.file_limit(len(images)) is None:
        return
    urls = [i.get("url") for i in images if isinstance(i, dict) and isinstance(i.get("url"), str)]
    if len(urls) == len(images):
        body["attachmentSizes"] = await stored_sizes(urls, store)


def _hold_request(
    body: dict[str, Any], normalized: NormalizedInput
) -> tuple[HoldRequest, dict[str, Any]]:
    """The hold this request asks for (one-call, the seed's slot, or a bare request)."""
    key_raw = body.pop("idempotencyKey", None)
    slot_raw = body.pop("concurrencySlotId", None)
    session_id = body.pop("sessionId", None)
    title = body.pop("sessionTitle", None)
    if key_raw is not None and slot_raw is not None:
        raise ApiError(
            400, "invalid_request", "Send either idempotencyKey or concurrencySlotId, not both."
        )
    if session_id is not None and (not isinstance(session_id, str) or len(session_id) > 64):
        raise ApiError(400, "invalid_request", "sessionId must be a session's id.")
    if title is not None and (not isinstance(title, str) or not 0 < len(title) <= 200):
        raise ApiError(400, "invalid_request", "sessionTitle must be 1 to 200 characters.")
    if slot_raw is not None:
        if not isinstance(slot_raw, str) or not 0 < len(slot_raw) <= 64:
            raise ApiError(400, "invalid_request", "concurrencySlotId must be a slot's id.")
        kind, key = "slot", f"slot:{slot_raw}"
    elif key_raw is not None:
        kind, key = "one-call", check_key(key_raw)
    else:
        kind, key = "one-call", f"auto:{uuid.uuid4().hex}"
    signed = {**normalized.to_body(), "sessionId": session_id, "sessionTitle": title}
    request = HoldRequest(
        key=key,
        kind=kind,
        body_hash=body_hash(signed),
        amount=float(normalized.cost),
        num_images=normalized.num_images,
        model_id=normalized.model.id,
        model_label=normalized.model.label,
        prompt=normalized.prompt,
        aspect_ratio=normalized.aspect_ratio,
        quality=normalized.quality,
        session_id=session_id if kind == "one-call" else None,
        session_title=title if kind == "one-call" and session_id is None else None,
        slot_id=slot_raw if kind == "slot" else None,
    )
    return request, signed


class ProviderClock:
    """How long this request waited on the provider's call (a sync model's call holds its
    whole render): sent back as ``Server-Timing: provider;dur=<ms>`` so a client can tell
    the provider's time from ours."""

    def __init__(self) -> None:
        self.seconds: float | None = None

    def header(self) -> dict[str, str]:
        if self.seconds is None:
            return {}
        return {"Server-Timing": f"provider;dur={self.seconds * 1000:.1f}"}


async def _submit_and_settle(
    request: Request,
    identity: Identity,
    hold: Hold,
    provider: Provider,
    job: ProviderRequest,
    clock: ProviderClock,
) -> Answer:
    """Call the provider for a held request and settle or record what came of it."""
    state = request.app.state
    billing: Billing = state.billing
    try:
        started = time.perf_counter()
        try:
            result = await provider.submit(job)
        finally:
            clock.seconds = time.perf_counter() - started
        if result.job_id is not None:
            job_key = results_job_key(provider.name, result.job_id)
            request_id = state.request_ids.encode(
                provider.name, result.job_id, identity.user_id, job.model.id
            )
            # The hold as recorded (read again in that transaction): a cancel that came
            # while the submit was in flight shows here; one that comes later finds the
            # job's key on the hold and cancels the job itself.
            hold = await billing.record(
                hold,
                (200, {"queued": True, "requestId": request_id}),
                job_key=job_key,
                request_id=request_id,
            )
            if hold.cancel_requested:
                await cancel_hold(request.app.state, hold)
                hold = await billing.get(hold.id) or hold
            return 200, with_billing(hold, {"queued": True, "requestId": request_id})
        stored = await rehost_images(request, result.images)
    except ProviderError as exc:
        return await billing.settle_failed(hold, provider_failure(exc))
    except httpx.HTTPError as exc:
        return await billing.settle_failed(hold, provider_unreachable(exc))
    except ApiError as exc:
        return await billing.settle_failed(hold, exc)
    except Exception:
        log.exception("generation %s failed", hold.id)
        return await billing.settle_failed(hold, INTERNAL)
    body = images_body(stored)
    settled = await billing.settle(hold, "completed", urls=stored, answer=(200, body))
    return 200, with_billing(settled, body)


async def _bounded(
    work: Coroutine[Any, Any, Answer], hold: Hold, billing: Billing, limit: float
) -> Answer:
    """A provider call never holds credits for ever: past ``limit`` it is settled failed."""
    try:
        async with asyncio.timeout(limit):
            return await work
    except TimeoutError:
        return await billing.settle_failed(
            hold, ApiError(504, "provider_timeout", "The image provider did not answer in time.")
        )


def _variants_for_references(state: Any, urls: list[str]) -> None:
    """References in our store get display-size variants too (an upload to R2 never passes
    through this server): made in the background, so this request neither waits for them
    nor fails on them. Those the local store made at upload are found and skipped."""
    variants: VariantWriter = state.variants
    store: ObjectStore = state.store
    variants.ensure_in_background(key for url in urls if (key := store.key_for_url(url)))


async def check_generation(
    request: Request, body: dict[str, Any]
) -> tuple[NormalizedInput, HoldRequest, list[str]]:
    """Every check generate makes before it holds money, with no side effect: the preview
    route (routes/preview.py) runs exactly these, so it refuses what generate refuses."""
    state = request.app.state
    await _measure_attachments(body, state.store)
    hold_request, _ = _hold_request(body, normalized := normalize(parse_generation(body)))
    attachments = check_attachment_urls(
        list(normalized.attachment_urls), state.store, config_of(request).attachment_allow_list
    )
    return normalized, hold_request, attachments


async def run_generation(request: Request, identity: Identity, body: dict[str, Any]) -> Any:
    state = request.app.state
    config = config_of(request)
    billing: Billing = state.billing
    normalized, hold_request, attachments = await check_generation(request, body)
    _variants_for_references(state, attachments)
    provider = state.providers.for_model(normalized.model)
    hold, opened = await billing.open(identity, hold_request)
    if not opened:
        return _json(await billing.replay(hold))
    job = ProviderRequest.from_input(normalized, attachments, reference=hold.id)
    # The work itself is bounded too: the late result of a slow sync call is still kept
    # for a repeat of the key, but no hold waits for ever.
    clock = ProviderClock()
    work = _bounded(
        _submit_and_settle(request, identity, hold, provider, job, clock),
        hold,
        billing,
        config.sync_work_limit_s,
    )
    if normalized.model.call_type != "sync":
        # A queued model's call only hands the job to the provider's queue: run in this
        # request's own task, it answers without a turn of the loop in between (in a burst
        # each turn waits behind every ready request: docs/benchmarks.md, "Seventh pass").
        return _json(await billing.run_here(hold, work), clock.header())
    answer = await billing.answer_of(hold, work, config.sync_deadline_s)
    if answer is None:
        raise ApiError(
            504,
            "still_running",
            "The image provider is still working; repeat the request with the same "
            "idempotencyKey to get the images.",
            headers={"Retry-After": "5"},
            extra={"billing": hold.billing()},
        )
    return _json(answer, clock.header())


def _json(answer: Answer, headers: dict[str, str] | None = None) -> JSONResponse:
    status, body = answer
    return JSONResponse(body, status_code=status, headers=headers)


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
