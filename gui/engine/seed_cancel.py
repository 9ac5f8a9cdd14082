"""Stopping a seed's-flow job on the server, and hearing its verdict, before undoing.

On the seed's flow the client reserved the credits and acquired the slot itself, but a
server that settles money itself (docs/billing.md) binds both to the job under the key
``slot:<slot id>`` the moment the generate call reaches it. Until that hold is settled the
client's own release and slot failure are no-ops there; if the job then finishes, the
server captures the credits. So the undo must not mark anything failed ("nothing was
charged") on a guess: it asks the cancel route - idempotent by key, so asking again is
safe - until the server answers with its settlement, and only then knows whether the job
was stopped (release, fail: as before) or had already delivered (charged: the images are
fetched and the generation completes).

An older server answers 404 (no route, or no hold for the key): nothing is bound there,
and the client's release is all it takes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TYPE_CHECKING, Any

from gui.engine.api_client import ApiClient, BackendError
from gui.engine.convex_gateway import ConvexError, ConvexUnavailable
from gui.engine.journal import Journal

if TYPE_CHECKING:  # flow.py builds on this module
    from gui.engine.flow import GenerationRun, Steps

log = logging.getLogger(__name__)
# Between unanswered cancels (and image fetches); the last delay repeats: the server is
# asked until it answers, however long it is away (a restart, an outage).
RETRY_DELAYS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 5.0)
Sleep = Callable[[float], Awaitable[None]]


class Verdict(Enum):
    NOTHING_HELD = "nothing_held"  # no hold for the key (older server) or the cancel refused
    STOPPED = "stopped"  # settled cancelled or failed: nothing charged
    DELIVERED = "delivered"  # settled completed: charged, the images exist


def _delay(attempt: int) -> float:
    return RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]


def _unanswered(exc: BackendError) -> bool:
    """No verdict: the server was not reached, was busy, or could not check who we are."""
    return exc.status in (0, 401) or exc.retryable


def read_verdict(answer: dict[str, Any] | None) -> Verdict | None:
    """The cancel's answer as a verdict; None while the server has not settled the hold
    (the provider call is still in flight: its end settles it, maybe with images)."""
    billing = (answer or {}).get("billing")
    if answer is None or not isinstance(billing, dict):
        return Verdict.NOTHING_HELD  # a 404, or a server that keeps no holds
    if billing.get("settled") is not True:
        return None
    return Verdict.DELIVERED if billing.get("outcome") == "completed" else Verdict.STOPPED


async def stop_on_server(
    api: ApiClient,
    journal: Journal,
    local_id: str,
    slot_id: str | None,
    request_id: str | None,
    model_id: str,
    *,
    sleep: Sleep = asyncio.sleep,
) -> Verdict:
    """Cancel the job keyed by the slot (or named by its request id) until the server says
    what became of it. ``cancel`` stays begun in the journal until then, so a client closed
    meanwhile asks again at its next start (resume.py undoes a row with ``cancel`` begun)."""
    key = f"slot:{slot_id}" if slot_id else None
    journal.begin(local_id, "cancel")
    attempt = 0
    while True:
        try:
            answer = await api.cancel(key, request_id, model_id)
        except BackendError as exc:
            if not _unanswered(exc):
                # Refused (a 400, a 403): the server holds nothing of ours under this key.
                log.warning("cancel of %s refused: %s", local_id, exc.message)
                journal.end(local_id, "cancel")
                return Verdict.NOTHING_HELD
            if attempt == 0:
                log.warning("cancel of %s not answered, asking again: %s", local_id, exc.message)
        else:
            verdict = read_verdict(answer)
            if verdict is not None:
                journal.end(local_id, "cancel")
                return verdict
        await sleep(_delay(attempt))
        attempt += 1


async def delivered_images(
    api: ApiClient,
    body: dict[str, Any],
    request_id: str | None,
    model_id: str,
    *,
    sleep: Sleep = asyncio.sleep,
) -> tuple[str, ...]:
    """The images of a job the server settled as delivered. A known request id asks the
    status route (the server keeps the copies); an unknown one (the generate answer was
    lost) sends the same generate body again: its slot key replays the first answer and
    never starts a second job. Asked until answered; () when the server says it has none."""
    attempt = 0
    while True:
        try:
            if request_id is None:
                result = await api.generate(body)
                if result.images:
                    return result.images
                request_id = result.request_id
                if request_id is None:
                    return ()
            status = await api.status(request_id, model_id)
            return status.images if status.state == "completed" else ()
        except BackendError as exc:
            if not _unanswered(exc):
                log.error("images of delivered job %s unavailable: %s", model_id, exc.message)
                return ()
        await sleep(_delay(attempt))
        attempt += 1


async def complete_delivered(steps: Steps, run: GenerationRun) -> tuple[bool, bool]:
    """The server settled the job as delivered (and charged it): fetch its images and
    complete the generation (images saved, our capture absorbed, slot completed). Returns
    (closed, delivered) as ``Steps.undo``: (False, False) while that cannot be done yet
    (the row stays open; the next start cancels again, hears "delivered" and finishes)."""
    body = {**(run.body or {}), "concurrencySlotId": run.slot_id}
    images = run.images or await delivered_images(steps.api, body, run.request_id, run.model_id)
    if not images:
        return False, False
    run.images = images
    steps.journal.end(run.local_id, "polled", images=images)
    try:
        await steps.resolve_uncertain(run)
        if run.generation_id is None:
            await _add_row(steps, run)
        row = steps.journal.get(run.local_id)
        assert row is not None
        await steps.complete(run, row)
    except (ConvexError, ConvexUnavailable) as exc:
        log.warning("delivered %s not saved yet: %s", run.local_id, exc)
        return False, False
    return True, True


async def _add_row(steps: Steps, run: GenerationRun) -> None:
    """The loading row the job's images go in, which was never added (its answer lost, or
    refused). The user paid for the images: when Convex refuses the row in its session
    (deleted meanwhile, say), they go in a new session; refused again, they are shown on
    the tile only, never withheld while charged."""
    try:
        await steps.session_and_row(run)
        return
    except ConvexError as exc:
        if run.session_id is None:
            log.error("delivered %s has no row for its images: %s", run.local_id, exc)
            return
        log.warning("delivered %s goes in a new session: %s", run.local_id, exc)
    run.session_id = None
    try:
        await steps.session_and_row(run)
    except ConvexError as exc:
        log.error("delivered %s has no row for its images: %s", run.local_id, exc)
