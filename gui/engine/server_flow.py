"""The one-call path (docs/billing.md), for backends that advertise ``server-billing``.

One keyed request before the provider is called: the engine makes an idempotency key for
the generation and journals it inside the very body it is about to send (``uploaded:end``),
then ``generate:begin``, then the POST. The server takes the slot, reserves the cost, adds
the loading row (in ``sessionId``, or in a new session named ``sessionTitle``) and answers
with ``billing`` (its slot, session and row ids). For queued models the engine long-polls
as on the seed's flow; the server settles - captures what was delivered, releases the rest,
completes or fails the slot, fills the loading row. The engine calls no Convex mutation.

A lost answer (transport error, a gateway's 5xx, ``409 request_in_progress``, ``504
still_running``) is asked again with the same key: the server replays its first answer and
never starts a second job. The key, not a prompt or title, is how a lost answer is
resolved - here, after a kill (resume.py resends it), and when undoing: a failure or a
user's cancel whose hold the server may still keep calls ``POST
/api/generate-images/cancel {idempotencyKey}``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from gui.engine.api_client import (
    PERMANENT_CODES,
    ApiClient,
    BackendError,
    Billing,
    GenerateResult,
    parse_billing,
)
from gui.engine.flow import GenerationRun
from gui.engine.journal import Journal, JournalRow
from gui.engine.resolve import session_title

log = logging.getLogger(__name__)
KEY_PREFIX = "desktop-"
# The server's own "ask again" answers (docs/billing.md), which do not use up the budget.
WAIT_CODES = frozenset({"request_in_progress", "still_running"})
# 5xx answers that are the server's settled verdict on the key (docs/billing.md).
SETTLED_CODES = frozenset({"server_restarted", "rehost_failed"})
# Consecutive lost answers (no answer, or a gateway's) before the engine gives up.
RESEND_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
MAX_RETRY_AFTER_S = 10.0
CANCEL_RETRY_DELAYS = (0.25, 1.0)
Sleep = Callable[[float], Awaitable[None]]


def new_key() -> str:
    return KEY_PREFIX + uuid.uuid4().hex


def keyed_body(
    body: dict[str, Any], key: str, session_id: str | None, prompt: str
) -> dict[str, Any]:
    """The generate body of the one-call path: the key, and the session to add the row to
    (an existing one, or a new one the server creates with this title)."""
    out = {**body, "idempotencyKey": key}
    if session_id:
        out["sessionId"] = session_id
    else:
        out["sessionTitle"] = session_title(prompt)
    return out


def is_keyed(row: JournalRow) -> bool:
    return bool((row.body or {}).get("idempotencyKey"))


def answer_lost(exc: BackendError) -> bool:
    """Whether a failed generate call may have been taken by the server without us hearing
    its verdict (then the same key is sent again: the server replays its verdict, so
    asking too often costs time, never a second job)."""
    if exc.status == 0 or exc.code in WAIT_CODES:
        return True
    if exc.status not in (408, 500, 502, 503, 504):
        return False  # the server's refusal (4xx): nothing is held
    # Our server's provider failures (and a hold its dead predecessor left) were settled
    # by the route and are its verdict; any other 5xx (a gateway's, a crash's "internal")
    # tells nothing about the request.
    settled = exc.code.startswith("provider_") or exc.code in SETTLED_CODES
    return not (settled or exc.code in PERMANENT_CODES)


def delivered(answer: dict[str, Any] | None) -> bool:
    """A cancel's answer saying the job had already delivered (and was charged)."""
    billing = (answer or {}).get("billing")
    return isinstance(billing, dict) and billing.get("outcome") == "completed"


class ServerFlow:
    def __init__(
        self,
        api: ApiClient,
        journal: Journal,
        deadline_s: float,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.journal = journal
        self.deadline_s = deadline_s
        self._sleep = sleep
        self._clock = clock

    async def submit(self, run: GenerationRun) -> GenerateResult:
        """Send the run's keyed body until the server's answer is known; record it."""
        try:
            self.journal.begin(run.local_id, "generate")
            result = await self._send(run)
        finally:
            run.submitted.set()
        self.record(run, result)
        return result

    async def _send(self, run: GenerationRun) -> GenerateResult:
        deadline = self._clock() + self.deadline_s
        body = run.body or {}
        lost = 0
        while True:
            try:
                # One attempt is an effect: a cancel arriving meanwhile lets it land, so the
                # undo knows what the server answered.
                return await run.effect(self.api.generate(body))
            except BackendError as exc:
                if not answer_lost(exc):
                    # The server's verdict: a refusal holds nothing, and a provider failure
                    # at submit was settled by the route (its row, if named, shows it).
                    run.server_settled = True
                    fields = self._adopt(run, parse_billing(exc.details.get("billing")))
                    if fields:
                        self.journal.update(run.local_id, **fields)
                    raise
                if exc.code not in WAIT_CODES:
                    lost += 1
                if lost > len(RESEND_DELAYS) or self._clock() >= deadline:
                    raise
                delay = RESEND_DELAYS[max(0, lost - 1)]
                if exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, MAX_RETRY_AFTER_S))
                log.info("generate %s: answer lost (%s), asking again", run.local_id, exc.code)
                await self._sleep(min(delay, max(0.0, deadline - self._clock())))

    def record(self, run: GenerationRun, result: GenerateResult) -> None:
        run.request_id, run.images = result.request_id, result.images
        if result.billing is None:
            log.warning("generate %s: the answer carries no billing", run.local_id)
        fields = self._adopt(run, result.billing)
        self.journal.end(
            run.local_id, "generate", request_id=result.request_id, images=result.images, **fields
        )

    def _adopt(self, run: GenerationRun, billing: Billing | None) -> dict[str, Any]:
        """What the server's ``billing`` names (its slot, session and loading row), kept on
        the run for the grid and the sidebar; returns it as journal fields."""
        if billing is not None:
            run.session_id = billing.session_id or run.session_id
            run.generation_id = billing.generation_id or run.generation_id
            run.slot_id = billing.slot_id or run.slot_id
            run.server_settled = run.server_settled or billing.settled
        names = ("session_id", "generation_id", "slot_id")
        return {name: getattr(run, name) for name in names if getattr(run, name)}

    # -- undo ------------------------------------------------------------------------------

    async def undo(self, run: GenerationRun, message: str) -> tuple[bool, bool]:
        """Make sure the server holds nothing for a run that failed or was cancelled.

        Returns (closed, delivered): closed is False when the server could not be asked
        (the journal row stays open; the next start asks again by key); delivered is True
        when the images came anyway (the sync answer raced the cancel, or the job had
        finished): the server charged and saved them, so the run completed.
        """
        self.journal.update(run.local_id, error=message)
        row = self.journal.get(run.local_id)
        assert row is not None
        if not row.began("generate"):
            return True, False  # nothing was sent: the server holds nothing
        closed = True
        answer: dict[str, Any] | None = None
        # An attempt on the wire: cancel at once (the server stops the job the moment it
        # exists), then again once its answer is in (the cancel may have come first).
        in_flight = any(not t.done() for t in run.pending - {asyncio.current_task()})
        if not run.server_settled:
            closed, answer = await self._cancel(run)
        if in_flight:
            await run.wait_pending()
            if run.images:
                return True, True
            if not run.server_settled:
                closed, answer = await self._cancel(run)
        if delivered(answer) and await self._fetch_delivered(run):
            return True, True
        return closed, False

    async def _cancel(self, run: GenerationRun) -> tuple[bool, dict[str, Any] | None]:
        """POST the cancel route by key; (False, None) when it could not be reached."""
        key = (run.body or {}).get("idempotencyKey")
        self.journal.begin(run.local_id, "cancel")
        for delay in (*CANCEL_RETRY_DELAYS, None):
            try:
                answer = await self.api.cancel(key, run.request_id, run.model_id)
            except BackendError as exc:
                if not (exc.status == 0 or exc.retryable):
                    # Refused (a 403, a 400): nothing of ours is held there.
                    log.warning("cancel of %s refused: %s", run.local_id, exc.message)
                    self.journal.end(run.local_id, "cancel")
                    return True, None
                if delay is None:
                    log.warning("cancel of %s not sent: %s", run.local_id, exc.message)
                    return False, None  # "cancel" stays begun: the next start asks again
                await self._sleep(delay)
                continue
            # None: a 404, the server never took the key (or predates the route).
            billing = (answer or {}).get("billing")
            if isinstance(billing, dict) and billing.get("settled") is True:
                run.server_settled = True
            self.journal.end(run.local_id, "cancel")
            return True, answer
        raise AssertionError("unreachable")

    async def _fetch_delivered(self, run: GenerationRun) -> bool:
        """The images of a job that finished before the cancel: the key's first answer, and
        for a queued job its status (the server keeps the copies)."""
        try:
            result = await self.api.generate(run.body or {})
            images = result.images
            if not images and result.request_id:
                status = await self.api.status(result.request_id, run.model_id)
                images = status.images if status.state == "completed" else ()
        except BackendError as exc:
            log.warning("images of delivered %s not fetched: %s", run.local_id, exc)
            return False
        if not images:
            return False
        run.images = images
        self.journal.end(run.local_id, "polled", images=images)
        return True
