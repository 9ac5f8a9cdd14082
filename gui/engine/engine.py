"""GenerationEngine: runs many generations at once; publishes what happens on one EventBus.

One-call path (``server-billing``; server_flow.py): validate -> upload -> one keyed
generate call -> poll; the server settles. Seed's flow (flow.py): validate -> upload ->
(slot || credits) -> (row || generate) -> poll -> save -> (capture || complete slot).
Failures and cancels undo what was done, once; every step is journaled for resume.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Iterator

from gui.engine.api_client import ApiClient, BackendError, JobStatus
from gui.engine.attachments import DEFAULT_LONG_EDGE
from gui.engine.capabilities import BackendFeatures
from gui.engine.convex_gateway import ConvexGateway
from gui.engine.credits import CreditBalance
from gui.engine.events import (
    EventBus,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
    Phase,
    SessionsChanged,
)
from gui.engine.failures import EngineFailure, describe_failure
from gui.engine.flow import GenerationRun, Steps, gather_all
from gui.engine.journal import Journal
from gui.engine.polling import Poller, PollPolicy
from gui.engine.prepare import prepare
from gui.engine.request import EngineRequest
from gui.engine.server_flow import ServerFlow
from gui.engine.tasks import spawn
from gui.engine.uploads import Uploader

log = logging.getLogger(__name__)
CANCELLED_MESSAGE = "Cancelled."
CLOSE_GRACE_S = 10.0
SAVE_LATER_MESSAGE = (
    "The images are ready but could not be saved yet; they will be saved when the app next starts."
)


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
        server_billing: bool | None = None,
    ) -> None:
        """``server_billing``: None asks the backend (``GET /healthz``); False always runs
        the seed's flow, True always the one-call path."""
        self.events = bus or EventBus()
        self.api = api
        self.gateway = gateway
        self.journal = journal
        self.steps = Steps(api, gateway, journal)
        self.uploader = Uploader(api, self.events, long_edge, local_store_base)
        self.poller = Poller(api, poll_policy)
        self.server = ServerFlow(api, journal, self.poller.policy.deadline_s)
        self.features = BackendFeatures(api, server_billing)
        self.features.probe_soon()  # off the submit path (no-op outside the event loop)
        self.credits = CreditBalance(gateway, self.events)
        self._runs: dict[str, GenerationRun] = {}
        self._closing = False

    # -- public API --------------------------------------------------------------------

    def submit(self, request: EngineRequest) -> str:
        """Start a generation; returns its local id at once (before any network)."""
        local_id = uuid.uuid4().hex
        # The tile first, straight from the request: nothing on the way to the skeleton
        # needs the run (flow.py) to exist yet.
        self.events.publish(
            GenerationStarted(local_id, request.prompt, request.options, request.session_id)
        )
        self.features.probe_soon()  # first use: runs alongside validation and uploads
        run = GenerationRun(local_id=local_id, request=request, session_id=request.session_id)
        self._launch(run, None)
        return local_id

    def adopt(self, run: GenerationRun, *, undo_message: str | None = None) -> None:
        """Show and run ``run``: a new one, or one resume.py rebuilt from the journal, which
        the same flow finishes from the step it reached (or, given ``undo_message``, undoes)."""
        self._publish_started(run)
        self._launch(run, undo_message)

    def is_running(self, local_id: str) -> bool:
        """Whether this engine already runs (or ran) ``local_id`` since it started."""
        return local_id in self._runs

    def generation_ids(self) -> Iterator[str]:
        """The Convex rows of the generations this engine runs (or ran)."""
        return (r.generation_id for r in self._runs.values() if r.generation_id)

    async def cancel(self, local_id: str) -> None:
        """Cancel and wait until everything it did is undone. After the images are ready
        it is too late: the generation completes (and is charged) as usual."""
        run = self._runs.get(local_id)
        if run is None or run.task is None or run.task.done() or run.saving:
            return
        if run.settled:
            # Being undone: cancelling again would show an outcome before the server's verdict.
            await asyncio.wait([run.task])
            return
        # A task cancelled before its first step never enters `_run`, so nothing would be
        # settled or published (the tile would stay "Cancelling…"): let it start first,
        # told not to send anything (its first step may reach the generate call).
        run.cancel_requested = True
        await asyncio.sleep(0)
        if run.task.done() or run.saving:
            return
        run.task.cancel()
        await asyncio.wait([run.task])

    def retry(self, local_id: str) -> str:
        """Submit the same request again (a failed or cancelled generation)."""
        return self.submit(self.retry_request(local_id))

    def retry_request(self, local_id: str) -> EngineRequest:
        """The same request, in the session its first attempt made (if it made one)."""
        run = self._runs.get(local_id)
        if run is None:
            row = self.journal.get(local_id)
            if row is None:
                raise KeyError(f"No generation {local_id} is known.")
            run = GenerationRun.from_journal(row)
        session_id = run.session_id or run.request.session_id
        return dataclasses.replace(run.request, session_id=session_id)

    async def start(self) -> list[str]:
        """Resume what the journal (and Convex) say was left unfinished."""
        from gui.engine.resume import resume_all  # resume builds on this module

        self.features.probe_soon()  # while the journal is read and resumed
        return await resume_all(self)

    async def close(self) -> None:
        """Stop without undoing: unfinished generations stay journaled for the next start.

        When it returns nothing of this engine runs any more, so the caller may close the
        HTTP clients and the journal: the writes already sent (an undo, a capture) are given
        ``CLOSE_GRACE_S`` to land and be journaled; credit refreshes are cancelled and
        awaited (one failing on a closed client would be reported as an error).
        """
        self._closing = True
        await self.credits.close()
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
        leftovers = [t for t in pending if not t.done()]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.wait(leftovers)
        await self.features.close()

    def in_flight(self) -> list[str]:
        return [i for i, r in self._runs.items() if r.task is not None and not r.task.done()]

    async def wait_idle(self) -> None:
        """Wait until no generation is running (tests and the CLI use it)."""
        while tasks := [r.task for r in self._runs.values() if r.task and not r.task.done()]:
            await asyncio.wait(tasks)

    # -- running -----------------------------------------------------------------------

    def _publish_started(self, run: GenerationRun) -> None:
        req = run.request
        self.events.publish(
            GenerationStarted(run.local_id, req.prompt, req.options, run.session_id, run.resumed)
        )

    def _launch(self, run: GenerationRun, undo_message: str | None) -> None:
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
            if run.cancel_requested:
                raise asyncio.CancelledError  # cancelled before it started
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
                        run.local_id,
                        SAVE_LATER_MESSAGE,
                        "save",
                        generation_id=run.generation_id,
                        session_id=run.session_id,
                    )
                )
                return
            await self._settle(run, describe_failure(exc), False)

    async def _execute(self, run: GenerationRun) -> None:
        if not run.resumed:
            await self._prepare(run)
        if run.keyed:
            if not (run.request_id or run.images):  # new, or resumed: (re)send the key
                await self._submit_keyed(run)
        elif not run.resumed:
            await self._reserve(run)
            await self._submit(run)
        else:
            await self._catch_up(run)
        if not run.images:
            await self._poll(run)
        run.saving = True
        self._progress(run, Phase.SAVING, "Saving…")
        if run.keyed:
            # The server saved the images into the loading row and settled the money.
            self.journal.finish(run.local_id, "completed")
        else:
            row = self.journal.get(run.local_id)
            assert row is not None
            await run.effect(self.steps.complete(run, row))
        self.events.publish(
            GenerationCompleted(run.local_id, run.generation_id, run.session_id, run.images)
        )
        self.credits.refresh_soon()

    async def _prepare(self, run: GenerationRun) -> None:
        await prepare(run, self.journal, self.uploader, self.features, self._progress)

    async def _reserve(self, run: GenerationRun) -> None:
        self._progress(run, Phase.RESERVING, "Reserving credits…")
        await gather_all(
            run.effect(self.steps.acquire_slot(run)), run.effect(self.steps.reserve_credits(run))
        )
        # The header (and the prompt bar's "not enough credits") count what is reserved now.
        self.credits.refresh_soon()

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

    async def _submit_keyed(self, run: GenerationRun) -> None:
        self._progress(run, Phase.SUBMITTING, "Starting…")
        had_session = run.session_id is not None
        await self.server.submit(run)
        if run.session_id and not had_session:
            self.events.publish(SessionsChanged())  # the server created it
        self.credits.refresh_soon()  # the header counts what the server holds now

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
        try:
            run.images = await self.poller.poll(run.request_id, run.model_id, on_status)
        except BackendError as exc:
            # The status route settled a job it saw fail (server-billing backends).
            run.server_settled = exc.code == "generation_failed"
            raise
        self.journal.end(run.local_id, "polled", images=run.images)

    async def _settle(self, run: GenerationRun, failure: EngineFailure, cancelled: bool) -> None:
        """Undo what the generation did, exactly once, then tell the GUI."""
        if run.settled:
            return
        run.settled = True
        state = "cancelled" if cancelled else "failed"
        delivered = False

        async def undo() -> None:
            nonlocal delivered, failure
            if not run.keyed:
                await run.wait_pending()  # the one-call path cancels first, then waits
            if not run.journaled:
                return  # nothing reached the network beyond reads
            if run.keyed:
                closed, delivered = await self.server.undo(run, failure.message)
            else:
                closed, delivered = await self.steps.undo(run, failure.message)
            if delivered:
                self.journal.finish(run.local_id, "completed")
            elif closed:
                self.journal.finish(run.local_id, state, failure.message)
            else:  # the server could not tell what happened: the next start resolves it
                log.warning("generation %s stays journaled until it can be settled", run.local_id)
                row = self.journal.get(run.local_id)
                if row is not None and row.done("polled"):  # charged: seed_cancel.py
                    failure = EngineFailure(SAVE_LATER_MESSAGE, "save", retryable=False)

        undone = False
        try:
            # Shielded: a second cancel (or close) must not stop the clean-up half-way; as a
            # pending effect of the run, close() waits for it before the clients close.
            await run.effect(undo())
            undone = True
        finally:
            if self._closing and not undone:
                # Cut by close before the server's verdict: no outcome is known to show (a
                # "failed, nothing was charged" might be false); the next start shows it.
                log.info("generation %s left for the next start", run.local_id)
            elif delivered:  # the images came before the cancel could stop them
                self.events.publish(
                    GenerationCompleted(run.local_id, run.generation_id, run.session_id, run.images)
                )
            elif cancelled:
                self.events.publish(
                    GenerationCancelled(
                        run.local_id, failure.message, run.generation_id, run.session_id
                    )
                )
            else:
                self.events.publish(
                    GenerationFailed(
                        run.local_id,
                        failure.message,
                        failure.code,
                        failure.retryable,
                        run.generation_id,
                        run.session_id,
                    )
                )
            self.credits.refresh_soon()
