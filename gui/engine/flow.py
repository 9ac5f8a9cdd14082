"""The seed's flow (backends without ``server-billing``; the one-call path is in
server_flow.py): the steps of one generation, each journaled before and after its side
effect.

`GenerationRun` holds what a generation has done so far (slot, reservation, session row,
request id, images) so that `undo` can reverse exactly that, once. Side effects run as
shielded tasks: a cancellation never interrupts a Convex write or the generate call
half-way (which would leave us not knowing whether it happened); the undo waits for them.
Undoing a job that may exist releases nothing before the server's verdict on it
(seed_cancel.py): a server that settles money itself binds our credits to the job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from catalog import MODELS
from gui.engine.api_client import ApiClient
from gui.engine.convex_gateway import ConvexError, ConvexGateway, ConvexUnavailable
from gui.engine.failures import EngineFailure
from gui.engine.journal import Journal, JournalRow
from gui.engine.request import EngineRequest
from gui.engine.resolve import RESOLVERS, Resolver, session_title
from gui.engine.seed_cancel import Verdict, complete_delivered, stop_on_server

log = logging.getLogger(__name__)
T = TypeVar("T")
WRITE_RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0)
# Steps whose effect is unknown while they are only begun; undo must know them all.
AMBIGUOUS_STEPS = ("slot", "credits", "session", "loading_row")


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """An idempotent Convex write (updateGeneration, a terminal updateGenerationStatus),
    retried while Convex is unreachable. Anything else goes through ``Steps.exactly_once``."""
    for delay in WRITE_RETRY_DELAYS:
        try:
            return await call()
        except ConvexUnavailable:
            await asyncio.sleep(delay)
    return await call()


async def gather_all(*coros: Awaitable[Any]) -> list[Any]:
    """Run independent steps together; every one finishes before the first error is raised."""
    results = await asyncio.gather(*coros, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


@dataclass
class GenerationRun:
    local_id: str
    request: EngineRequest
    amount: int = 0
    body: dict[str, Any] | None = None
    slot_id: str | None = None
    credits_reserved: bool = False
    session_id: str | None = None
    generation_id: str | None = None
    request_id: str | None = None
    images: tuple[str, ...] = ()
    resumed: bool = False
    journaled: bool = False
    saving: bool = False
    settled: bool = False
    # One-call path: whether the server has settled this run's hold (nothing to cancel),
    # and set once the keyed generate call has its answer (or gave up).
    server_settled: bool = False
    submitted: asyncio.Event = field(default_factory=asyncio.Event)
    cancel_requested: bool = False
    task: asyncio.Task[None] | None = None
    pending: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def model_id(self) -> str:
        return str((self.body or {}).get("model") or self.request.options.model)

    @property
    def keyed(self) -> bool:
        """On the one-call path: the journaled body carries the idempotency key."""
        return bool((self.body or {}).get("idempotencyKey"))

    @classmethod
    def from_journal(cls, row: JournalRow) -> GenerationRun:
        request = EngineRequest.from_json(row.request)
        urls = [a.get("url") for a in (row.body or {}).get("attachmentImages", [])]
        if urls:
            # Bytes are never journaled; the uploaded copies stand in for them (a retry
            # after a restart then sends the same images without uploading again).
            request = replace(request, attachments=tuple(u for u in urls if u))
        return cls(
            local_id=row.local_id,
            request=request,
            amount=row.amount,
            body=row.body,
            slot_id=row.slot_id if row.done("slot") else None,
            credits_reserved=row.done("credits"),
            session_id=row.session_id or request.session_id,
            # The seed's flow made the row itself; on the one-call path the answer named it.
            generation_id=(
                row.generation_id if row.done("loading_row") or row.done("generate") else None
            ),
            request_id=row.request_id,
            images=row.images,
            resumed=True,
            journaled=True,
        )

    def effect(self, coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """Start a side effect now and run it to its end even if the caller is cancelled
        meanwhile (the undo waits for it, so it knows whether the effect happened)."""
        task = asyncio.ensure_future(coro)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        return asyncio.shield(task)

    async def wait_pending(self, limit_s: float | None = None) -> None:
        """Wait for the side effects in flight (but the caller's own, when it is one)."""
        others = self.pending - {asyncio.current_task()}
        if not others:
            return
        done, _ = await asyncio.wait(others, timeout=limit_s)
        for task in done:  # retrieve, so failures are not reported as "never retrieved"
            if not task.cancelled():
                task.exception()


class Steps:
    """The individual steps, shared by the engine's flow and by resume."""

    def __init__(self, api: ApiClient, gateway: ConvexGateway, journal: Journal) -> None:
        self.api = api
        self.gateway = gateway
        self.journal = journal
        # One mutation of a kind in flight at a time per client, so that a resolver comparing
        # Convex with the journal never sees another run's write half-way (resolve.py).
        self.locks = {kind: asyncio.Lock() for kind, _ in RESOLVERS}

    def _row(self, run: GenerationRun) -> JournalRow:
        row = self.journal.get(run.local_id)
        assert row is not None, run.local_id
        return row

    async def exactly_once(
        self, kind: str, run: GenerationRun, step: str, attempt: Callable[[], Awaitable[None]]
    ) -> None:
        """Run ``attempt`` (a non-idempotent mutation that journals ``step``'s begin and its
        end or refusal). When its answer is lost, ask Convex whether it happened (the
        resolver journals the verdict) before trying again: a blind repeat would be applied
        twice. Raises ConvexUnavailable when Convex stays unreachable; the step is then left
        uncertain for ``undo`` or the next start to resolve."""
        resolver: Resolver = dict(RESOLVERS)[kind]
        async with self.locks[kind]:
            for retries_left in range(len(WRITE_RETRY_DELAYS), -1, -1):
                try:
                    await attempt()
                    return
                except ConvexError:
                    # Convex answered that the function threw: its transaction was rolled
                    # back, so the step certainly did not happen (left "begun", undo and
                    # every later start would keep asking Convex about it, forever).
                    if self._row(run).uncertain(step):
                        self.journal.refuse(run.local_id, step)
                    raise
                except ConvexUnavailable:
                    if not retries_left:
                        raise
                if await self._happened(resolver, run, step):
                    return  # the resolver recorded what it produced (slot id, row id)

    async def _happened(self, resolver: Resolver, run: GenerationRun, step: str) -> bool:
        """Ask Convex (repeatedly: reads are safe to repeat) whether ``step`` took effect."""
        unknown: ConvexUnavailable | None = None
        for delay in WRITE_RETRY_DELAYS:
            await asyncio.sleep(delay)
            try:
                await resolver(self.gateway, self.journal, run, self._row(run))
            except ConvexUnavailable as exc:
                unknown = exc
                continue
            return self._row(run).done(step)
        assert unknown is not None
        raise unknown

    async def resolve_uncertain(self, run: GenerationRun) -> None:
        """Settle every begun-but-unfinished step of ``run`` by asking Convex (resume and
        undo). Raises ConvexError / ConvexUnavailable when Convex cannot tell yet."""
        for kind, resolver in RESOLVERS:
            async with self.locks[kind]:
                await resolver(self.gateway, self.journal, run, self._row(run))

    async def acquire_slot(self, run: GenerationRun) -> None:
        async def attempt() -> None:
            self.journal.begin(run.local_id, "slot")
            result = await self.gateway.acquire_generation_slot(run.request.prompt[:500])
            if not result.ok or not result.generation_id:
                self.journal.refuse(run.local_id, "slot")
                if result.reason == "limit_reached":
                    count = result.limit or result.active or 4
                    raise EngineFailure(
                        f"You already have {count} generations running. Wait for one to finish.",
                        "slot_limit",
                    )
                raise EngineFailure(result.message or "No generation slot is available.", "slot")
            run.slot_id = result.generation_id
            self.journal.end(run.local_id, "slot", slot_id=run.slot_id)

        await self.exactly_once("slot", run, "slot", attempt)

    async def reserve_credits(self, run: GenerationRun) -> None:
        async def attempt() -> None:
            self.journal.begin(run.local_id, "credits")
            result = await self.gateway.reserve_credits(run.amount)
            if not result.success:
                self.journal.refuse(run.local_id, "credits")
                raise EngineFailure(result.message or "Not enough credits.", "credits", False)
            run.credits_reserved = True
            self.journal.end(run.local_id, "credits")

        await self.exactly_once("credits", run, "credits", attempt)

    async def session_and_row(self, run: GenerationRun) -> None:
        if run.session_id is None:

            async def create() -> None:
                self.journal.begin(run.local_id, "session")
                run.session_id = await self.gateway.create_session(
                    session_title(run.request.prompt), "image"
                )
                self.journal.end(run.local_id, "session", session_id=run.session_id)

            await self.exactly_once("session", run, "session", create)
        session_id = run.session_id
        assert session_id is not None
        body = run.body or {}
        model = MODELS.get(run.model_id)

        async def attempt() -> None:
            self.journal.begin(run.local_id, "loading_row", session_id=session_id)
            # Never providerEndpoint: Convex must not poll the provider and store its URLs.
            run.generation_id = await self.gateway.add_generation_to_session(
                session_id,
                prompt=run.request.prompt,
                model=run.model_id,
                model_label=model.label if model else None,
                aspect_ratio=body.get("aspectRatio"),
                num_images=body.get("numImages"),
                is_loading=True,
                concurrency_slot_id=run.slot_id,
                quality=body.get("quality"),
            )
            self.journal.end(run.local_id, "loading_row", generation_id=run.generation_id)

        await self.exactly_once("row", run, "loading_row", attempt)

    async def generate(self, run: GenerationRun) -> None:
        self.journal.begin(run.local_id, "generate")
        # The server binds our slot (and as much of our reservation as this costs) to the
        # request, and refuses a request without one (docs/billing.md).
        result = await self.api.generate({**(run.body or {}), "concurrencySlotId": run.slot_id})
        run.request_id, run.images = result.request_id, result.images
        self.journal.end(
            run.local_id, "generate", request_id=result.request_id, images=result.images
        )

    async def save_request_id(self, run: GenerationRun) -> None:
        assert run.generation_id and run.request_id
        self.journal.begin(run.local_id, "request_id_saved")
        await with_retries(
            lambda: self.gateway.update_generation(
                run.generation_id or "", external_request_id=run.request_id
            )
        )
        self.journal.end(run.local_id, "request_id_saved")

    async def _credit_step(self, run: GenerationRun, step: str, row: JournalRow) -> None:
        """Capture or release this run's reservation, once."""
        if not run.credits_reserved or row.done(step):
            return
        mutate = (
            self.gateway.capture_reserved_credits
            if step == "captured"
            else self.gateway.release_reserved_credits
        )

        async def attempt() -> None:
            self.journal.begin(run.local_id, step)
            await mutate(run.amount)
            run.credits_reserved = False
            self.journal.end(run.local_id, step)

        await self.exactly_once("credits", run, step, attempt)

    async def complete(self, run: GenerationRun, row: JournalRow) -> None:
        """Save the images, capture the credits, complete the slot; skips what is done."""
        if run.generation_id and not row.done("images_saved"):
            self.journal.begin(run.local_id, "images_saved")
            await with_retries(
                lambda: self.gateway.update_generation(
                    run.generation_id or "",
                    is_loading=False,
                    images=list(run.images),
                    completed_at=time.time(),
                )
            )
            self.journal.end(run.local_id, "images_saved")

        async def complete_slot() -> None:
            if run.slot_id and not row.done("slot_completed"):
                self.journal.begin(run.local_id, "slot_completed")
                await with_retries(
                    lambda: self.gateway.update_generation_status(
                        run.slot_id or "", "completed", run.images[0] if run.images else None
                    )
                )
                self.journal.end(run.local_id, "slot_completed")

        await gather_all(self._credit_step(run, "captured", row), complete_slot())
        self.journal.finish(run.local_id, "completed")

    async def undo(self, run: GenerationRun, message: str) -> tuple[bool, bool]:
        """Mark the row failed, release the credits, fail the slot (each once). Steps whose
        answer was lost are first resolved by asking Convex. Returns (closed, delivered):
        closed is False when something is still unknown (Convex unreachable): the journal
        row must then stay open for the next start; delivered is True when the server had
        already delivered the job (seed_cancel.py): it completed instead, charged."""
        # Journaled first, so a restart in the middle of the undo keeps the reason.
        self.journal.update(run.local_id, error=message)
        if run.request_id or (run.slot_id and self._row(run).began("generate")):
            # A job may exist and its server may bind our credits and slot to it: nothing is
            # released or failed before the server's verdict (asked until it answers).
            verdict = await stop_on_server(
                self.api, self.journal, run.local_id, run.slot_id, run.request_id, run.model_id
            )
            if verdict is Verdict.DELIVERED:
                return await complete_delivered(self, run)
        try:
            await self.resolve_uncertain(run)
        except (ConvexError, ConvexUnavailable) as exc:
            log.warning("undo of %s cannot resolve every step yet: %s", run.local_id, exc)
        row = self._row(run)

        async def mark_row() -> None:
            if run.generation_id and not row.done("error_saved"):
                self.journal.begin(run.local_id, "error_saved")
                await with_retries(
                    lambda: self.gateway.update_generation(
                        run.generation_id or "", is_loading=False, error=message
                    )
                )
                self.journal.end(run.local_id, "error_saved")

        async def fail_slot() -> None:
            if run.slot_id and not row.done("slot_failed"):
                self.journal.begin(run.local_id, "slot_failed")
                await with_retries(
                    lambda: self.gateway.update_generation_status(run.slot_id or "", "failed")
                )
                self.journal.end(run.local_id, "slot_failed")

        await gather_all(mark_row(), self._credit_step(run, "released", row), fail_slot())
        row = self._row(run)
        return not any(row.uncertain(s) for s in AMBIGUOUS_STEPS), False
