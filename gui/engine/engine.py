"""GenerationEngine: runs many generations at once, each through the flow of design.md §5,
and publishes what happens on one EventBus (the only thing the GUI observes).

validate -> upload -> (slot || credits) -> (session + loading row || generate) -> poll
-> save images -> (capture || complete slot). Any failure or a cancellation undoes what was
done, exactly once. Every step is journaled, so `start()` (resume.py) can finish or clean
up what a killed client left behind.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from catalog import InvalidGenerationInput, normalize, validate
from gui.engine.api_client import ApiClient, BackendError, JobStatus
from gui.engine.attachments import DEFAULT_LONG_EDGE, AttachmentError
from gui.engine.convex_gateway import ConvexError, ConvexGateway, ConvexUnavailable
from gui.engine.events import (
    CreditsChanged,
    EventBus,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
    Phase,
    SessionsChanged,
)
from gui.engine.flow import EngineFailure, GenerationRun, Steps, gather_all
from gui.engine.journal import Journal
from gui.engine.polling import Poller, PollPolicy
from gui.engine.request import EngineRequest
from gui.engine.tasks import spawn
from gui.engine.tokens import SignInError
from gui.engine.uploads import Uploader

log = logging.getLogger(__name__)
CANCELLED_MESSAGE = "Cancelled."
CLOSE_GRACE_S = 10.0
SAVE_LATER_MESSAGE = (
    "The images are ready but could not be saved yet; they will be saved when the app next starts."
)


def describe_failure(exc: BaseException) -> EngineFailure:
    """Any exception as a sentence for the tile, a code and whether retrying may help."""
    if isinstance(exc, EngineFailure):
        return exc
    if isinstance(exc, AttachmentError):
        return EngineFailure(exc.message, "attachment", retryable=False)
    if isinstance(exc, BackendError):
        retryable = exc.status in (0, 429, 500, 502, 503, 504)
        return EngineFailure(exc.message, exc.code, retryable)
    if isinstance(exc, ConvexUnavailable):
        return EngineFailure(str(exc), "convex_unavailable")
    if isinstance(exc, ConvexError):
        return EngineFailure(exc.message, "convex", retryable=False)
    if isinstance(exc, SignInError):
        return EngineFailure(str(exc), "sign_in", retryable=False)
    if isinstance(exc, ExceptionGroup) and exc.exceptions:
        return describe_failure(exc.exceptions[0])
    log.error("unexpected failure in a generation", exc_info=exc)
    return EngineFailure(f"Something went wrong: {exc or type(exc).__name__}.", "internal")


class GenerationEngine:
    def __init__(
        self,
        api: ApiClient,
        gateway: ConvexGateway,
        journal: Journal,
        *,
        bus: EventBus | None = None,
        long_edge: int = DEFAULT_LONG_EDGE,
        poll_policy: PollPolicy | None = None,
        local_store_base: str | None = None,
    ) -> None:
        self.events = bus or EventBus()
        self.api = api
        self.gateway = gateway
        self.journal = journal
        self.steps = Steps(api, gateway, journal)
        self.uploader = Uploader(api, self.events, long_edge, local_store_base)
        self.poller = Poller(api, poll_policy)
        self._runs: dict[str, GenerationRun] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._closing = False

    # -- public API --------------------------------------------------------------------

    def submit(self, request: EngineRequest) -> str:
        """Start a generation; returns its local id at once (before any network)."""
        local_id = uuid.uuid4().hex
        run = GenerationRun(local_id=local_id, request=request, session_id=request.session_id)
        self._publish_started(run)
        self._launch(run)
        return local_id

    async def cancel(self, local_id: str) -> None:
        """Cancel and wait until everything it did is undone. After the images are ready
        it is too late: the generation completes (and is charged) as usual."""
        run = self._runs.get(local_id)
        if run is None or run.task is None or run.task.done() or run.saving:
            return
        # A task cancelled before its first step never enters `_run`, so nothing would be
        # settled or published (the tile would stay "Cancelling…"): let it start first.
        await asyncio.sleep(0)
        if run.task.done() or run.saving:
            return
        run.task.cancel()
        await asyncio.wait([run.task])

    def retry(self, local_id: str) -> str:
        """Submit the same request again (a failed or cancelled generation)."""
        run = self._runs.get(local_id)
        if run is None:
            row = self.journal.get(local_id)
            if row is None:
                raise KeyError(f"No generation {local_id} is known.")
            run = GenerationRun.from_journal(row)
        return self.submit(run.request)

    async def start(self) -> list[str]:
        """Resume what the journal (and Convex) say was left unfinished."""
        from gui.engine.resume import resume_all  # resume builds on this module

        return await resume_all(self)

    async def close(self) -> None:
        """Stop without undoing: unfinished generations stay journaled for the next start.

        When it returns nothing of this engine runs any more, so the caller may close the
        HTTP clients and the journal: the writes already sent (an undo, a capture) are given
        ``CLOSE_GRACE_S`` to land and be journaled; credit refreshes are cancelled and
        awaited (one failing on a closed client would be reported as an error).
        """
        self._closing = True
        tasks = [r.task for r in self._runs.values() if r.task and not r.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        pending = {p for r in self._runs.values() for p in r.pending if not p.done()}
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_GRACE_S)
        # What is still running now is cut: its step stays begun, and the next start asks
        # Convex whether it happened (resolve.py).
        leftovers = [t for t in pending | self._background if not t.done()]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.wait(leftovers)

    def in_flight(self) -> list[str]:
        return [i for i, r in self._runs.items() if r.task is not None and not r.task.done()]

    async def wait_idle(self) -> None:
        """Wait until no generation is running (tests and the CLI use it)."""
        while tasks := [r.task for r in self._runs.values() if r.task and not r.task.done()]:
            await asyncio.wait(tasks)

    async def refresh_credits(self) -> None:
        breakdown = await self.gateway.get_user_credits_breakdown()
        self.events.publish(
            CreditsChanged(
                total=int(breakdown.total),
                reserved=int(breakdown.reserved),
                available=int(breakdown.available),
            )
        )

    # -- running -----------------------------------------------------------------------

    def _publish_started(self, run: GenerationRun) -> None:
        req = run.request
        self.events.publish(
            GenerationStarted(
                local_id=run.local_id,
                prompt=req.prompt,
                model=req.model,
                aspect_ratio=req.aspect_ratio,
                num_images=req.num_images,
                session_id=run.session_id,
                resumed=run.resumed,
                resolution=req.resolution,
                quality=req.quality,
            )
        )

    def _launch(self, run: GenerationRun, *, undo_message: str | None = None) -> None:
        self._runs[run.local_id] = run
        run.task = spawn(
            self._run(run, undo_message), where=f"generation {run.local_id}", bus=self.events
        )

    def _progress(self, run: GenerationRun, phase: Phase, detail: str = "", **kw: int) -> None:
        self.events.publish(
            GenerationProgress(
                local_id=run.local_id,
                phase=phase,
                detail=detail,
                queue_position=kw.get("position"),
                generation_id=run.generation_id,
                session_id=run.session_id,
            )
        )

    async def _run(self, run: GenerationRun, undo_message: str | None) -> None:
        try:
            if undo_message is not None:
                raise EngineFailure(undo_message, "interrupted")
            await self._execute(run)
        except asyncio.CancelledError:
            if self._closing:
                # Let in-flight writes land (and be journaled) so the next start knows.
                await run.wait_pending(CLOSE_GRACE_S)
                return
            await self._settle(run, EngineFailure(CANCELLED_MESSAGE, "cancelled"), True)
        except Exception as exc:
            if run.saving:
                # The images exist: never undo now. The journal row stays open and the
                # next start finishes saving it.
                log.error("saving generation %s failed", run.local_id, exc_info=exc)
                self.events.publish(
                    GenerationFailed(
                        run.local_id, SAVE_LATER_MESSAGE, "save", generation_id=run.generation_id
                    )
                )
                return
            await self._settle(run, describe_failure(exc), False)

    async def _execute(self, run: GenerationRun) -> None:
        if not run.resumed:
            await self._prepare(run)
            await self._reserve(run)
            await self._submit(run)
        else:
            await self._catch_up(run)
        if not run.images:
            await self._poll(run)
        run.saving = True
        self._progress(run, Phase.SAVING, "Saving…")
        row = self.journal.get(run.local_id)
        assert row is not None
        await run.effect(self.steps.complete(run, row))
        self.events.publish(
            GenerationCompleted(run.local_id, run.generation_id, run.session_id, run.images)
        )
        self._refresh_credits_soon()

    async def _prepare(self, run: GenerationRun) -> None:
        req = run.request
        self._progress(run, Phase.VALIDATING, "Checking…")
        body = req.validation_body()
        problems = validate(body)
        if problems:
            raise EngineFailure(" ".join(p.message for p in problems), problems[0].code, False)
        try:
            normalized = normalize(body)
            run.amount = normalized.cost
        except (InvalidGenerationInput, ValueError) as exc:
            raise EngineFailure(str(exc), "invalid_request", False) from exc
        self.journal.create(run.local_id, req.to_json())
        run.journaled = True
        urls: list[str] = []
        if req.attachments:
            n = len(req.attachments)

            def uploading(done: int) -> None:  # the tile reads "Uploading 2/3"
                if done < n:
                    self._progress(run, Phase.UPLOADING, f"Uploading {done + 1}/{n}")

            first = "Uploading image…" if n == 1 else f"Uploading 1/{n}"
            self._progress(run, Phase.UPLOADING, first)
            urls = await self.uploader.upload_all(run.local_id, req.attachments, uploading)
        run.body = normalized.to_body()
        if urls:
            run.body["attachmentImages"] = [{"url": u} for u in urls]
        self.journal.end(
            run.local_id, "uploaded", body=run.body, amount=run.amount, session_id=run.session_id
        )

    async def _reserve(self, run: GenerationRun) -> None:
        self._progress(run, Phase.RESERVING, "Reserving credits…")
        await gather_all(
            run.effect(self.steps.acquire_slot(run)), run.effect(self.steps.reserve_credits(run))
        )
        # The header (and the prompt bar's "not enough credits") count what is reserved now.
        self._refresh_credits_soon()

    async def _submit(self, run: GenerationRun) -> None:
        self._progress(run, Phase.SUBMITTING, "Starting…")
        new_session = run.session_id is None
        # The loading row and the generate call do not depend on each other.
        await gather_all(
            run.effect(self.steps.session_and_row(run)), run.effect(self.steps.generate(run))
        )
        if new_session:
            self.events.publish(SessionsChanged())
        if run.request_id:
            await run.effect(self.steps.save_request_id(run))

    async def _catch_up(self, run: GenerationRun) -> None:
        """A resumed, submitted generation: make sure its loading row exists (the client may
        have died before adding it) and knows its request id, so no image is lost."""
        if not (run.request_id or run.images):
            return
        if run.generation_id is None:
            await run.effect(self.steps.session_and_row(run))
        row = self.journal.get(run.local_id)
        if run.request_id and row is not None and not row.done("request_id_saved"):
            await run.effect(self.steps.save_request_id(run))

    async def _poll(self, run: GenerationRun) -> None:
        if not run.request_id:
            raise EngineFailure(
                "The app closed before the generation was confirmed; nothing was charged.",
                "interrupted",
            )
        self._progress(run, Phase.QUEUED, "In queue…")

        def on_status(status: JobStatus) -> None:
            if status.state == "running":
                self._progress(run, Phase.RUNNING, "Generating…")
            elif status.state == "queued":
                where = f"In queue #{status.position}" if status.position else "In queue…"
                self._progress(run, Phase.QUEUED, where, position=status.position or 0)

        # One quick status first: a long poll answers only when the job ends (or after
        # its wait), and the tile should show the real queue position from the start.
        try:
            on_status(await self.api.status(run.request_id, run.model_id))
        except BackendError:
            pass  # the poll below retries (or fails) as its policy says
        run.images = await self.poller.poll(run.request_id, run.model_id, on_status)
        self.journal.end(run.local_id, "polled", images=run.images)

    async def _settle(self, run: GenerationRun, failure: EngineFailure, cancelled: bool) -> None:
        """Undo what the generation did, exactly once, then tell the GUI."""
        if run.settled:
            return
        run.settled = True
        state = "cancelled" if cancelled else "failed"

        async def undo() -> None:
            await run.wait_pending()
            if not run.journaled:
                return  # nothing reached the network beyond reads
            if await self.steps.undo(run, failure.message):
                self.journal.finish(run.local_id, state, failure.message)
            else:  # Convex could not tell what happened: the next start resolves it
                log.warning("generation %s stays journaled until Convex answers", run.local_id)

        try:
            # Shielded: a second cancel (or close) must not stop the clean-up half-way; as a
            # pending effect of the run, close() waits for it before the clients close.
            await run.effect(undo())
        finally:
            if cancelled:
                self.events.publish(
                    GenerationCancelled(run.local_id, failure.message, run.generation_id)
                )
            else:
                self.events.publish(
                    GenerationFailed(
                        run.local_id,
                        failure.message,
                        failure.code,
                        failure.retryable,
                        run.generation_id,
                    )
                )
            self._refresh_credits_soon()

    async def _refresh_credits_quietly(self) -> None:
        try:
            await self.refresh_credits()
        except ConvexUnavailable as exc:
            # Only the header's figure is stale; the next settle refreshes it again, and a
            # generation hurt by the outage already says so on its tile.
            log.warning("credits not refreshed: %s", exc)

    def _refresh_credits_soon(self) -> None:
        if not self._closing:
            task = spawn(self._refresh_credits_quietly(), where="refresh credits", bus=self.events)
            self._background.add(task)
            task.add_done_callback(self._background.discard)
