"""What `GenerationEngine.start()` does: finish or clean up what a killed client left.

A row of the one-call path (its journaled body carries an idempotency key,
server_flow.py) is finished by key, never by guessing: a generate call that may have been
sent is sent again with the same key (the server answers its first answer and never starts
a second job), a known job is polled, and a row being undone asks the cancel route by key.
The server settles the money either way. A row whose key was never sent fails: nothing was
held.

For each journal row of the seed's flow that is not terminal:

* a step that began but was not recorded as finished is resolved first by asking Convex
  (resolve.py, the same resolvers the flow uses after a lost answer: the user's reserved
  total tells whether a reservation / capture / release happened; the active slots and the
  session's loading rows identify a slot or row whose id was lost);
* a job that was submitted (request id or images known) is finished: polled to the end, its
  images saved, credits captured, slot completed - never charged twice, since each of those
  steps is skipped when the journal says it is done;
* anything else is cleaned up: row marked failed, credits released, slot failed.

Then rows found through ``getSessionGenerations`` with ``isLoading`` and an
``externalRequestId`` that no journal row knows (another client died mid-way) are adopted:
journaled as a run that got as far as its saved request id, then finished by the same
flow as any resumed run (polled, images saved, slot completed; or, when the job failed,
marked failed and its slot failed). Their credits belong to that client: nothing is
reserved in this journal, so nothing is captured or released here.

Every run starts through the engine's public ``adopt``; nothing here finishes a generation
by its own copy of the flow's steps.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from catalog import Options
from gui.engine.convex_gateway import ConvexError, ConvexUnavailable
from gui.engine.convex_types import SessionGeneration
from gui.engine.flow import GenerationRun
from gui.engine.journal import Journal, JournalRow
from gui.engine.request import EngineRequest
from gui.engine.server_flow import is_keyed

if TYPE_CHECKING:
    from gui.engine.engine import GenerationEngine

log = logging.getLogger(__name__)
NOT_SUBMITTED = "The app closed before this generation was submitted; nothing was charged."
ORPHAN_SESSIONS = 20
# How long start waits for keys being sent again before it looks for rows no journal row
# knows (the answer names the row, so ours is not taken for another client's).
RESEND_WAIT_S = 10.0


def _undo_message(row: JournalRow) -> str | None:
    """None when the generation can be finished; else why it is being cleaned up."""
    undoing = ("error_saved", "released", "slot_failed", "cancel")
    if row.error or any(row.began(s) for s in undoing):
        return row.error or "The generation failed."
    if row.request_id or row.images:
        return None
    if is_keyed(row) and row.began("generate"):
        return None  # send the key again: the server's first answer comes back
    if row.uncertain("generate"):
        return "The app closed while the generation was being submitted; nothing was charged."
    return NOT_SUBMITTED


async def resume_all(engine: GenerationEngine) -> list[str]:
    """Launch the finishing or clean-up of every unfinished journal row; returns local ids."""
    resumed: list[str] = []
    resending: list[GenerationRun] = []
    for row in engine.journal.unfinished():
        if engine.is_running(row.local_id):
            continue  # already running in this engine
        run = GenerationRun.from_journal(row)
        if not run.keyed:
            try:
                await engine.steps.resolve_uncertain(run)
            except (ConvexError, ConvexUnavailable) as exc:
                log.warning("resume of %s postponed: %s", row.local_id, exc)
                continue  # Convex is unreachable: try again at the next start
        undo_message = _undo_message(row)
        engine.adopt(run, undo_message=undo_message)
        resumed.append(row.local_id)
        if run.keyed and undo_message is None and not (run.request_id or run.images):
            resending.append(run)
    if resending:
        waits = [asyncio.ensure_future(r.submitted.wait()) for r in resending]
        _, late = await asyncio.wait(waits, timeout=RESEND_WAIT_S)
        for task in late:
            task.cancel()
    try:
        resumed += await resume_orphans(engine)
    except (ConvexError, ConvexUnavailable) as exc:
        log.warning("could not look for unfinished rows in Convex: %s", exc)
    return resumed


async def resume_orphans(engine: GenerationEngine) -> list[str]:
    running = set(engine.generation_ids())
    sessions = sorted(
        await engine.gateway.get_user_sessions(), key=lambda s: s.updated_at, reverse=True
    )
    found: list[str] = []
    for session in sessions[:ORPHAN_SESSIONS]:
        for gen in await engine.gateway.get_session_generations(session.id):
            ours = gen.id in running or engine.journal.knows("generation_id", gen.id)
            if gen.is_loading and gen.external_request_id and not ours:
                run = journal_orphan(engine.journal, session.id, gen)
                engine.adopt(run)
                found.append(run.local_id)
    return found


def journal_orphan(journal: Journal, session_id: str, gen: SessionGeneration) -> GenerationRun:
    """Another client's loading row, journaled here as a seed's-flow run whose request id
    is saved in its row: resuming it polls the job and completes (or fails) row and slot."""
    local_id = f"convex-{gen.id}"
    options = Options(gen.model, gen.aspect_ratio, gen.num_images, quality=gen.quality)
    journal.create(local_id, EngineRequest(gen.prompt, options, session_id=session_id).to_json())
    if gen.concurrency_slot_id:
        journal.end(local_id, "slot", slot_id=gen.concurrency_slot_id)
    journal.end(local_id, "loading_row", session_id=session_id, generation_id=gen.id)
    journal.end(local_id, "generate", request_id=gen.external_request_id)
    journal.end(local_id, "request_id_saved")
    row = journal.get(local_id)
    assert row is not None
    return GenerationRun.from_journal(row)
