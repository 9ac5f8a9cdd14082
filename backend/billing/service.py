"""The billing service the routes use: holds opened, answers kept and replayed, settlement.

Thin async layer over :mod:`backend.billing.holds` (whose transactions run in worker
threads), plus the tasks that carry a provider call to its end even when the client that
asked has gone: they are held here, so a disconnect never cancels a paid job half-way. A
queued model's call (a job handed to a queue) runs in its request's own task instead
(``run_here``): uvicorn never cancels a request whose client left, either.

Every committed change of a hold that someone may be waiting for (its answer recorded,
its settlement) is published on the notifier's ``HOLD`` channel: a repeated key waiting
in :meth:`Billing.replay`, or a long poll waiting for a settlement, wakes at once — in
this process, or in any process with a cross-process notifier (PostgreSQL or Redis).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from backend.auth.identity import Identity
from backend.billing import holds, open_hold, settlement
from backend.billing.holds import Hold, HoldRequest
from backend.convex_host.database import ConvexDatabase
from backend.errors import ApiError
from backend.storage.notify import HOLD, InProcessNotifier, Notifier
from backend.storage.offload import DatabaseCalls
from backend.stored_image import StoredImage

log = logging.getLogger(__name__)

# A server process beats this often; one silent for STALE_S is taken for dead, and the
# holds it left mid-call are settled failed (nothing charged).
HEARTBEAT_S = 5.0
STALE_S = 15.0
STOPPED = ApiError(
    502,
    "server_restarted",
    "The server stopped before this generation finished. Nothing was charged.",
)
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-:.]{8,128}$")
# Keys the server makes itself; a client's key may not look like one.
RESERVED_PREFIXES = ("slot:", "auto:")
# In-process, how often a repeated key re-reads a hold whose first call runs in another
# process (nothing announces it then); cross-process, the notifier's recheck instead.
REPLAY_POLL_S = 0.1
# A job submitted or polled in this process this recently is looked after by the status
# route (which settles it when it ends): the sweeper leaves it alone. A client that
# stopped polling is taken over by the sweeper once this has passed (config poll_grace_s).
POLL_GRACE_S = 15.0
Answer = tuple[int, dict[str, Any]]


def check_key(raw: object) -> str:
    if not isinstance(raw, str) or not KEY_PATTERN.match(raw) or raw.startswith(RESERVED_PREFIXES):
        raise ApiError(
            400,
            "invalid_request",
            "idempotencyKey must be 8 to 128 letters, digits or _ - : . "
            "(and may not start with slot: or auto:).",
        )
    return raw


def body_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def with_billing(hold: Hold, body: dict[str, Any]) -> dict[str, Any]:
    """An answer with the hold's current ``billing`` (a replay shows today's state); error
    answers too, so a client can name the session and row the server opened."""
    return {**body, "billing": hold.billing()}


class Billing:
    def __init__(
        self,
        db: ConvexDatabase,
        replay_wait_s: float = 20.0,
        notifier: Notifier | None = None,
        poll_grace_s: float = POLL_GRACE_S,
    ) -> None:
        self.db = db
        self._db = DatabaseCalls(db.engine)
        self.replay_wait_s = replay_wait_s
        self.poll_grace_s = poll_grace_s
        self.notifier = notifier or InProcessNotifier()
        self.owner = uuid.uuid4().hex
        # Hold id -> the task carrying its provider call: its own (``run``), or the request's
        # (``run_here``).
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        # Holds this process is opening: written, but their task not yet registered. None
        # of this process's holds is an orphan meanwhile (it may be one of those).
        self._opening = 0
        # Job key -> time.monotonic() of its last status poll in this process (in memory:
        # a write per poll would cost more than the sweeps it saves).
        self._polled: dict[str, float] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        # What to do with a hold a dead server left mid-call (the app wires the job
        # adoption of job_states.resolve_orphan; alone, the service can only release it).
        self.on_orphan: Callable[[Hold], Awaitable[Answer]] = self.release_orphan

    # -- liveness ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self._db(holds.beat, self.db, self.owner)
        self._heartbeat = asyncio.create_task(self._beat(), name="billing-heartbeat")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self._db(holds.beat, self.db, self.owner)
            except Exception:  # a busy database must not end the heartbeat
                log.exception("billing heartbeat failed")

    async def orphaned(self, hold: Hold) -> bool:
        """A hold left ``holding`` by a server process that is gone (none works on it).

        ``hold`` may be a snapshot (a sweep's list): judged again on a fresh read, since
        its call may have answered, or its task been registered, since."""
        if not self._unattended(hold):
            return False
        fresh = await self.get(hold.id)
        if fresh is None or not self._unattended(fresh):
            return False
        if fresh.owner == self.owner:
            return True  # ours, yet no task of ours: this process lost it
        return not await self._db(holds.owner_alive, self.db, fresh.owner, STALE_S)

    def _unattended(self, hold: Hold) -> bool:
        """Unanswered and, if this process owns it, neither running nor maybe opening."""
        if hold.state != "holding" or hold.response is not None:
            return False
        return hold.owner != self.owner or not (self.running(hold.id) or self._opening)

    # -- holds -----------------------------------------------------------------------------

    async def open(self, identity: Identity, request: HoldRequest) -> tuple[Hold, bool]:
        """Open (or find) the hold of a request. The caller registers the hold's work with
        ``run`` before its next await, so the hold is never ours and unattended."""
        self._opening += 1
        try:
            return await self._db(open_hold.open_hold, self.db, identity, request, self.owner)
        finally:
            self._opening -= 1

    async def get(self, hold_id: str) -> Hold | None:
        return await self._db(holds.get_hold, self.db, hold_id)

    async def by_job(self, job_key: str) -> Hold | None:
        return await self._db(holds.find_by_job, self.db, job_key)

    async def by_key(self, identity: Identity, key: str) -> Hold | None:
        return await self._db(holds.find_by_key, self.db, identity, key)

    async def record(
        self,
        hold: Hold,
        answer: Answer,
        *,
        job_key: str | None = None,
        request_id: str | None = None,
    ) -> Hold:
        status, body = answer
        recorded = await self._db(
            lambda: holds.record_response(
                self.db, hold.id, status, body, job_key=job_key, request_id=request_id
            )
        )
        await self.notifier.publish(HOLD, hold.id)  # committed: a repeated key may look
        if job_key is not None:
            self.note_polled(job_key)  # just submitted: its client polls it next
        return recorded

    async def settle(
        self,
        hold: Hold,
        outcome: str,
        *,
        urls: Sequence[StoredImage | str] | None = None,
        error: str | None = None,
        only_if_holding: bool = False,
        answer: Answer | None = None,
    ) -> Hold:
        """Settle ``hold`` (see settlement.settle), keeping ``answer`` for a repeat of its
        key in the same transaction."""
        settled, changed = await self._db(
            lambda: settlement.settle(
                self.db,
                hold.id,
                outcome=outcome,
                urls=urls,
                error=error,
                only_if_holding=only_if_holding,
                answer=answer,
            )
        )
        if changed or answer is not None:  # a repeated key may be waiting for the answer
            await self.notifier.publish(HOLD, hold.id)
        if changed:
            log.info(
                "settled hold %s: %s, charged %s of %s",
                hold.id,
                settled.outcome,
                settled.charged,
                settled.amount,
            )
        return settled

    async def settle_failed(self, hold: Hold, error: ApiError) -> Answer:
        """A failure before any image: settle (nothing charged) and keep the error answer."""
        answer = (error.status, error.body())
        settled = await self.settle(hold, "failed", error=error.message, answer=answer)
        return error.status, with_billing(settled, error.body())

    async def release_orphan(self, hold: Hold) -> Answer:
        """Settle failed (nothing charged) a hold no process works on — unless its call
        answered after all (a race with the judgement): then that answer stands."""
        settled = await self.settle(
            hold,
            "failed",
            error=STOPPED.message,
            only_if_holding=True,
            answer=(STOPPED.status, STOPPED.body()),
        )
        if settled.response is not None:
            return int(settled.response_status or 200), with_billing(settled, settled.response)
        return STOPPED.status, with_billing(settled, STOPPED.body())  # settled elsewhere

    async def subject_of(self, hold: Hold) -> str:
        """The JWT subject of the hold's user (request ids name users by it)."""
        return await self._db(holds.subject_of, self.db, hold.user_id)

    async def request_cancel(self, hold: Hold) -> None:
        await self._db(holds.request_cancel, self.db, hold.id)

    async def mark_checked(self, hold: Hold) -> None:
        await self._db(holds.mark_checked, self.db, hold.id)

    async def unsettled(self) -> list[Hold]:
        return await self._db(holds.unsettled, self.db)

    # -- the work of one hold ----------------------------------------------------------------

    def run(self, hold: Hold, work: Coroutine[Any, Any, Answer | None]) -> asyncio.Task[Any]:
        """Run the provider call of ``hold`` to its end, whoever waits for it."""
        task = asyncio.ensure_future(work)
        self._tasks[hold.id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(hold.id, None))
        return task

    async def answer_of(
        self, hold: Hold, work: Coroutine[Any, Any, Answer], timeout_s: float
    ) -> Answer | None:
        """Run ``work`` in a task of its own (``run``) and return its answer, or None if
        it has none within ``timeout_s``: a caller that leaves or times out never cancels it.

        The work hands its answer straight to this waiter, which wakes one turn of the loop
        later; ``asyncio.wait`` on the task took two (the task's done callback, then the
        waiter's wake-up). In a burst each turn waits behind every request then ready
        (docs/benchmarks.md, "Seventh pass")."""
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[Answer | None] = loop.create_future()
        self.run(hold, _handing_over(work, answered))
        timer = loop.call_later(timeout_s, _settle_future, answered, None)
        try:
            return await answered
        finally:
            timer.cancel()

    async def run_here(self, hold: Hold, work: Coroutine[Any, Any, Answer]) -> Answer:
        """Run ``work`` in the calling task, registered as ``hold``'s as ``run`` does.

        For a call that only hands a job to a provider's queue: no second task, so no turn
        of the loop between the request and its work, nor between the work and the answer.
        The server never cancels a request whose client left (uvicorn lets it run on), and
        a process that stops half-way leaves the hold to the sweeper, as a crash does."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("run_here needs a running task")
        self._tasks[hold.id] = task
        try:
            return await work
        finally:
            self._tasks.pop(hold.id, None)

    def running(self, hold_id: str) -> bool:
        return hold_id in self._tasks

    # -- who looks after a queued job ------------------------------------------------------------

    def note_polled(self, job_key: str) -> None:
        now = time.monotonic()
        self._polled[job_key] = now
        if len(self._polled) > 10_000:  # forget jobs nobody asked about for a while
            grace = self.poll_grace_s
            self._polled = {k: t for k, t in self._polled.items() if now - t < grace}

    def polled_recently(self, job_key: str | None) -> bool:
        """This process submitted the job, or a client asked for its status here, within
        ``poll_grace_s`` (the sweeper then need not ask the provider)."""
        at = self._polled.get(job_key) if job_key else None
        return at is not None and time.monotonic() - at < self.poll_grace_s

    async def replay(self, hold: Hold) -> Answer:
        """The first answer of a repeated key, waiting a while for it if still running.

        The first call runs here (its task is awaited) or in another process: then the
        hold's wake-up ends the wait as soon as that process records its answer, and a
        lost wake-up costs at most one recheck."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.replay_wait_s
        async with self.notifier.listen(HOLD, hold.id) as changed:
            # Read again once listening: an answer recorded meanwhile is not missed.
            current = await self.get(hold.id)
            while current is not None and current.response is None:
                if await self.orphaned(current):
                    return await self.on_orphan(current)
                task = self._tasks.get(hold.id)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise ApiError(
                        409,
                        "request_in_progress",
                        "This request is still being processed; repeat it shortly.",
                        headers={"Retry-After": "2"},
                    )
                if task is not None:
                    await asyncio.wait({task}, timeout=remaining)
                else:
                    await changed.wait(min(self.notifier.recheck(REPLAY_POLL_S), remaining))
                current = await self.get(hold.id)
        assert current is not None and current.response is not None
        return int(current.response_status or 200), with_billing(current, current.response)

    async def wait_settled(self, hold: Hold, timeout_s: float) -> Hold | None:
        """``hold`` once settled, by whichever process; None if not within ``timeout_s``.

        Driven by wake-ups alone (no polling): a long poll races it against the
        provider's own wait, which is the safety net that bounds the poll."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with self.notifier.listen(HOLD, hold.id) as changed:
            while True:
                current = await self.get(hold.id)
                if current is None or current.settled:
                    return current
                remaining = deadline - loop.time()
                if remaining <= 0 or not await changed.wait(remaining):
                    return None

    async def close(self) -> None:
        """Server shutdown: what is still running is left to the next start, which settles
        it failed at once (this process says it is gone)."""
        tasks = list(self._tasks.values())
        if self._heartbeat is not None:
            tasks.append(self._heartbeat)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self._db(holds.forget_owner, self.db, self.owner)
        except Exception:
            log.exception("could not record this server's shutdown")


async def _handing_over(
    work: Coroutine[Any, Any, Answer], answered: asyncio.Future[Answer | None]
) -> Answer | None:
    """``work``'s answer, also set on ``answered`` the moment it is known. An error goes to
    the waiter if it still waits (it reports it), else stays the task's to report."""
    try:
        answer = await work
    except asyncio.CancelledError:
        answered.cancel()
        raise
    except Exception as exc:
        if answered.done():
            raise
        answered.set_exception(exc)
        return None
    _settle_future(answered, answer)
    return answer


def _settle_future(future: asyncio.Future[Answer | None], value: Answer | None) -> None:
    if not future.done():
        future.set_result(value)
