"""Requested = delivered: one provider call per image where an endpoint answers one image.

Fal's ``fal-ai/flux-2-max``, ``fal-ai/flux-2-max/edit`` and
``fal-ai/wan/v2.2-a14b/text-to-image`` take no ``num_images`` (their published input
schemas have none; Wan answers a single ``image``). ``FanOutProvider`` wraps the real
provider and, for such models, makes one call per image, so the routes need no change:

* sync models: the calls run concurrently and every delivered image is returned. If some
  fail, the delivered ones are returned (the server charges per delivered image); if all
  fail, the first ``ProviderError`` is raised.
* queued models: N jobs are submitted and ONE composite job id is returned: the compact JSON
  list of the sub-job ids (``["id1","id2"]``; Fal ids never start with ``[``), which the
  route seals in its opaque request id (4 UUIDs are ~160 characters, far below its cap).
  ``status`` aggregates: IN_QUEUE (position = the smallest) or IN_PROGRESS while any sub-job
  runs; once all are terminal, COMPLETED with the images of every succeeded sub-job (partial
  success) or FAILED when none delivered. ``cancel`` cancels every sub-job.

Any other model, and any plain job id, passes straight through to the wrapped provider.
How many images one call delivers is the catalog's ``ModelSpec.images_per_call`` (None: the
endpoint takes a count and answers all of them); tests/unit/test_fal_payload_contract.py
checks it against Fal's schemas (1 exactly where the input has no ``num_images``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from backend.providers.base import (
    JobState,
    Provider,
    ProviderError,
    ProviderRequest,
    SubmitResult,
)
from backend.providers.outputs import NO_IMAGES
from backend.providers.polling import TERMINAL, poll_until_terminal
from catalog import ModelSpec

log = logging.getLogger(__name__)
T = TypeVar("T")

# More sub-jobs than this in one composite id is refused (the catalog allows 4 images).
MAX_CALLS = 16
_TERMINAL_CACHE_SIZE = 1024


def call_plan(model: ModelSpec, num_images: int) -> list[int]:
    """The ``num_images`` of each call that together deliver ``num_images`` images."""
    per_call = model.images_per_call
    if per_call is None or per_call < 1 or num_images <= per_call:
        return [num_images]
    full, rest = divmod(num_images, per_call)
    return [per_call] * full + ([rest] if rest else [])


def fans_out(model: ModelSpec, num_images: int | None = None) -> bool:
    """True when ``num_images`` (default: the model's maximum) takes more than one call."""
    return len(call_plan(model, model.max_images if num_images is None else num_images)) > 1


def encode_job_ids(job_ids: Sequence[str]) -> str:
    """One composite job id for several sub-jobs (a single id stays as it is)."""
    if len(job_ids) == 1:
        return job_ids[0]
    return json.dumps(list(job_ids), separators=(",", ":"))


def decode_job_ids(job_id: str) -> list[str] | None:
    """The sub-job ids of a composite id; None for a plain (single) job id."""
    if not job_id.startswith("["):
        return None
    try:
        ids = json.loads(job_id)
    except ValueError:
        ids = None
    if (
        not isinstance(ids, list)
        or not 1 <= len(ids) <= MAX_CALLS
        or not all(isinstance(i, str) and i and not i.startswith("[") for i in ids)
    ):
        raise ProviderError("This request id is not valid.", code="invalid_request_id", status=400)
    return ids


def aggregate(states: Sequence[JobState]) -> JobState:
    """One state for a composite job, from the states of its sub-jobs (in order)."""
    logs = tuple(line for state in states for line in state.logs)
    done = [s for s in states if s.status in TERMINAL]
    pending = [s for s in states if s.status not in TERMINAL]
    delivered = tuple(image for s in done if s.status == "COMPLETED" for image in s.images)
    failed = [s for s in done if s.status == "FAILED"]
    if pending:
        progress = (f"{len(done)} of {len(states)} generations finished.",) if done else ()
        if any(s.status == "IN_PROGRESS" for s in pending):
            return JobState(status="IN_PROGRESS", logs=logs + progress)
        positions = [s.position for s in pending if s.position is not None]
        return JobState(
            status="IN_QUEUE", position=min(positions) if positions else None, logs=logs + progress
        )
    if delivered:
        note: tuple[str, ...] = ()
        if failed:
            note = (f"{len(failed)} of {len(states)} generations failed: {failed[0].error}",)
        return JobState(status="COMPLETED", images=delivered, logs=logs + note)
    error = next((s.error for s in failed if s.error), None) or NO_IMAGES
    return JobState(status="FAILED", error=error, logs=logs)


def _first_error(errors: Sequence[Exception]) -> Exception:
    """The first ProviderError (a sentence for the user), else the first error at all."""
    return next((e for e in errors if isinstance(e, ProviderError)), errors[0])


async def _all(calls: Iterable[Awaitable[T]]) -> tuple[list[T], list[Exception]]:
    """Run ``calls`` concurrently to their end; (results, errors), each in call order."""
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    errors: list[Exception] = []
    results: list[T] = []
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            errors.append(outcome)
        elif isinstance(outcome, BaseException):
            raise outcome  # a sub-call cancelled, KeyboardInterrupt, ...: never swallowed
        else:
            results.append(outcome)
    return results, errors


class FanOutProvider:
    """Wraps a provider; fans out the models whose endpoint answers fewer images than asked."""

    def __init__(self, inner: Provider, *, poll_interval_s: float = 1.0) -> None:
        self.inner = inner
        self.name = inner.name
        self._poll_interval_s = poll_interval_s
        # Terminal sub-job states: a finished sub-job is not asked again while others run.
        self._terminal: OrderedDict[tuple[str, str], JobState] = OrderedDict()

    def __repr__(self) -> str:
        return f"FanOutProvider({self.inner!r})"

    def __getattr__(self, attr: str) -> Any:
        # Anything else (uploads, private attributes tests look at) is the wrapped provider's.
        if attr == "inner":
            raise AttributeError(attr)
        return getattr(self.inner, attr)

    async def submit(self, request: ProviderRequest) -> SubmitResult:
        plan = call_plan(request.model, request.num_images)
        if len(plan) == 1:
            return await self.inner.submit(request)
        if len(plan) > MAX_CALLS:
            raise ProviderError(
                f"At most {MAX_CALLS} images can be generated at once.",
                code="too_many_images",
                status=400,
            )
        calls = [self.inner.submit(replace(request, num_images=n)) for n in plan]
        results, errors = await _all(calls)
        if not results:
            raise _first_error(errors)
        if errors:
            log.warning(
                "%s: %d of %d calls failed (%s); keeping the rest",
                request.model.endpoint,
                len(errors),
                len(plan),
                ", ".join(type(e).__name__ for e in errors),
            )
        job_ids = [r.job_id for r in results if r.job_id is not None]
        if job_ids:
            return SubmitResult(job_id=encode_job_ids(job_ids))
        images = tuple(image for r in results for image in r.images)
        if not images:
            raise ProviderError(NO_IMAGES, code="provider_no_images")
        return SubmitResult(images=images)

    async def status(self, model: ModelSpec, job_id: str) -> JobState:
        ids = decode_job_ids(job_id)
        if ids is None:
            return await self.inner.status(model, job_id)
        states, errors = await _all(self._sub_status(model, i) for i in ids)
        if errors:
            # One sub-job's state is unknown: so is the whole job's (the client asks again).
            raise _first_error(errors)
        return aggregate(states)

    async def _sub_status(self, model: ModelSpec, job_id: str) -> JobState:
        key = (model.endpoint, job_id)
        cached = self._terminal.get(key)
        if cached is not None:
            self._terminal.move_to_end(key)
            return cached
        state = await self.inner.status(model, job_id)
        if state.status in TERMINAL:
            self._terminal[key] = state
            while len(self._terminal) > _TERMINAL_CACHE_SIZE:
                self._terminal.popitem(last=False)
        return state

    async def wait(self, model: ModelSpec, job_id: str, timeout_s: float) -> JobState:
        if decode_job_ids(job_id) is None:
            inner_wait = getattr(self.inner, "wait", None)
            if inner_wait is not None:
                state: JobState = await inner_wait(model, job_id, timeout_s)
                return state
        return await poll_until_terminal(
            lambda: self.status(model, job_id), timeout_s, self._poll_interval_s
        )

    async def cancel(self, model: ModelSpec, job_id: str) -> bool:
        """Cancel every sub-job; True only when none of them will deliver anything."""
        inner_cancel = getattr(self.inner, "cancel", None)
        if inner_cancel is None:
            return False
        ids = decode_job_ids(job_id)
        if ids is None:
            accepted: bool = await inner_cancel(model, job_id)
            return accepted
        results, errors = await _all(inner_cancel(model, i) for i in ids)
        if not results:
            raise _first_error(errors)
        return not errors and all(r is True for r in results)

    async def aclose(self) -> None:
        self._terminal.clear()
        closer = getattr(self.inner, "aclose", None)
        if closer is not None:
            await closer()
