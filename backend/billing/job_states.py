"""Settling queued jobs: from a provider's job state to the hold's capture or release.

Shared by the status route (a client polls), the cancel route and the sweeper (nobody
polls any more). Rehosting goes through the results cache, so however many of them see a
job finish, its images are copied once and the hold is settled once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx

from backend.billing.holds import Hold
from backend.billing.service import Answer, Billing, with_billing
from backend.errors import ApiError
from backend.providers.base import JobState, Provider, ProviderError, ProviderImage
from backend.rehost import Rehoster, RehostError
from backend.request_ids import RequestIdClaims
from backend.results_cache import ResultsCache, job_key
from backend.stored_image import StoredImage
from catalog import MODELS

log = logging.getLogger(__name__)
CANCELLED = "Cancelled."


async def rehost_once(
    app_state: Any, claims: RequestIdClaims, images: tuple[ProviderImage, ...]
) -> list[StoredImage]:
    """The job's images in our store (with their variants and sizes), copied once per job
    (ApiError 502 when they cannot be)."""
    cache: ResultsCache = app_state.results
    rehoster: Rehoster = app_state.rehoster

    async def rehost() -> list[StoredImage]:
        try:
            stored = await rehoster.rehost_all(images)
        except RehostError as exc:
            raise ApiError(502, "rehost_failed", exc.message) from exc
        if not stored:
            raise ApiError(
                502, "provider_error", "The provider finished without returning an image."
            )
        return stored

    return await cache.get_or_create(job_key(claims.provider, claims.provider_request_id), rehost)


async def settle_job_state(
    app_state: Any,
    claims: RequestIdClaims,
    state: JobState,
    urls: Sequence[StoredImage | str] | None = None,
) -> Hold | None:
    """Settle the hold of a job that reached a terminal state (no-op when not terminal,
    when no hold exists — a job from before billing — or when it is settled already)."""
    billing: Billing = app_state.billing
    hold = await billing.by_job(job_key(claims.provider, claims.provider_request_id))
    if hold is None or hold.settled:
        return hold
    if state.status == "COMPLETED":
        if urls is None:
            urls = await rehost_once(app_state, claims, state.images)
        return await billing.settle(hold, "completed", urls=urls)
    if state.status == "FAILED":
        outcome = "cancelled" if state.error == CANCELLED else "failed"
        return await billing.settle(hold, outcome, error=state.error or "The generation failed.")
    return hold


def claims_of(app_state: Any, hold: Hold) -> RequestIdClaims | None:
    if not hold.request_id:
        return None
    claims: RequestIdClaims = app_state.request_ids.decode(hold.request_id)
    return claims


async def resolve_orphan(app_state: Any, hold: Hold) -> Answer:
    """A hold its server process left mid-call (it died): adopt the job that call started
    when the provider can find it by the hold's reference — the generation then goes on as
    if nothing happened — else settle it failed (nothing charged)."""
    billing: Billing = app_state.billing
    model = MODELS.get(hold.model_id)
    job_id: str | None = None
    provider: Provider | None = None
    if model is not None:
        try:
            provider = app_state.providers.for_model(model)
            find = getattr(provider, "find_job", None)
            job_id = await find(model, hold.id) if find is not None else None
        except (ApiError, ProviderError, httpx.HTTPError) as exc:
            log.warning("looking for the job of hold %s failed: %s", hold.id, exc)
    if job_id is None or provider is None or model is None:
        return await billing.release_orphan(hold)
    subject = await billing.subject_of(hold)
    request_id = app_state.request_ids.encode(provider.name, job_id, subject, model.id)
    body = {"queued": True, "requestId": request_id}
    adopted = await billing.record(
        hold, (200, body), job_key=job_key(provider.name, job_id), request_id=request_id
    )
    log.info("hold %s: adopted job %s its stopped server had started", hold.id, job_id)
    if adopted.cancel_requested:  # the client gave up on it meanwhile
        adopted = await cancel_hold(app_state, adopted)
    return 200, with_billing(adopted, body)


async def cancel_hold(app_state: Any, hold: Hold) -> Hold:
    """Stop the hold's provider job and settle it as cancelled (nothing charged), unless
    the job had already delivered: then it is settled with its images."""
    state = app_state
    billing: Billing = state.billing
    if hold.settled:
        return hold
    if await billing.orphaned(hold):
        await resolve_orphan(state, hold)  # adopt its job (then cancel it), or settle it
        hold = await billing.get(hold.id) or hold
        if hold.settled:
            return hold
    claims = claims_of(state, hold)
    if claims is None:
        # The provider call is still in flight: the submit settles it when it returns.
        await billing.request_cancel(hold)
        return await billing.get(hold.id) or hold
    provider: Provider = state.providers.by_name(claims.provider)
    model = MODELS.get(claims.model_id)
    cancel = getattr(provider, "cancel", None)
    accepted = True
    if cancel is not None and model is not None:
        try:
            accepted = bool(await cancel(model, claims.provider_request_id))
        except (ProviderError, httpx.HTTPError) as exc:
            # Unknown at the provider: we stop waiting for it either way, and charge nothing.
            log.warning("cancel of hold %s at %s failed: %s", hold.id, claims.provider, exc)
    if not accepted and model is not None:
        # Already finished at the provider: settle with what it delivered.
        try:
            job = await provider.status(model, claims.provider_request_id)
            settled = await settle_job_state(state, claims, job)
            if settled is not None and settled.settled:
                return settled
        except (ProviderError, httpx.HTTPError, ApiError) as exc:
            log.warning("status after a refused cancel of hold %s failed: %s", hold.id, exc)
    return await billing.settle(hold, "cancelled", error=CANCELLED)
