"""Loading rows another client left (it died after submitting): adopted through the engine's
public door and finished by the flow's own completion - here, when the job fails, and when
this client is itself stopped half-way through finishing one. (The success case:
test_engine_crash_resume.py.)"""

from __future__ import annotations

from pathlib import Path

from backend.server import EmbeddedBackend
from gui.engine.events import GenerationFailed, GenerationStarted
from tests.integration.engine_support import Harness, engine_for

MODEL = "img-nano-banana"  # queued: the job fails when it ends, after the client died
USER = "orphans"


async def _leave_an_orphan(backend: EmbeddedBackend, data_dir: Path, prompt: str) -> str:
    """Another client takes a slot, submits, adds the loading row with its request id, dies."""
    async with engine_for(backend, data_dir, user_id=USER) as other:
        gateway = other.gateway
        session_id = await gateway.create_session("From the phone", "image")
        slot = await gateway.acquire_generation_slot(prompt)
        job = await other.engine.api.generate({"prompt": prompt, "model": MODEL})
        assert job.request_id and slot.generation_id
        return await gateway.add_generation_to_session(
            session_id,
            prompt=prompt,
            model=MODEL,
            aspect_ratio="16:9",
            num_images=2,
            is_loading=True,
            concurrency_slot_id=slot.generation_id,
            external_request_id=job.request_id,
        )


def _started(h: Harness, local_id: str) -> GenerationStarted:
    return next(e for e in h.events if isinstance(e, GenerationStarted) and e.local_id == local_id)


async def test_an_orphan_whose_job_failed_is_marked_failed_and_its_slot_freed(
    backend: EmbeddedBackend, tmp_path: Path
) -> None:
    gen_id = await _leave_an_orphan(backend, tmp_path / "other", "a cabin [fail]")
    async with engine_for(backend, tmp_path / "desktop", user_id=USER) as h:
        resumed = await h.engine.start()
        assert resumed == [f"convex-{gen_id}"]
        started = _started(h, resumed[0])
        # The tile shows the row's own options, not only its model.
        assert started.resumed and started.options.aspect_ratio == "16:9"
        assert started.options.num_images == 2
        await h.engine.wait_idle()
        failed = h.terminal(resumed[0])
        assert isinstance(failed, GenerationFailed) and failed.generation_id == gen_id
        assert failed.message and failed.message[0].isupper()
        (session,) = await h.gateway.get_user_sessions()
        (gen,) = await h.gateway.get_session_generations(session.id)
        assert not gen.is_loading and gen.error
        assert h.invariants() == []  # the slot is failed, nothing stays reserved
        row = h.engine.journal.get(resumed[0])
        assert row is not None and row.state == "failed"
        assert await h.engine.start() == []  # nothing left to resume


async def test_an_orphan_being_finished_when_the_client_stops_resumes_from_the_journal(
    backend: EmbeddedBackend, tmp_path: Path
) -> None:
    gen_id = await _leave_an_orphan(backend, tmp_path / "other", "a lighthouse")
    desktop = tmp_path / "desktop"
    async with engine_for(backend, desktop, user_id=USER) as h:
        assert await h.engine.start() == [f"convex-{gen_id}"]
        # Closed while it polls: unfinished, and journaled as this client's own run now.
    async with engine_for(backend, desktop, user_id=USER) as h:
        resumed = await h.engine.start()
        assert resumed == [f"convex-{gen_id}"]  # once: from the journal, not adopted again
        await h.engine.wait_idle()
        row = h.engine.journal.get(resumed[0])
        assert row is not None and row.state == "completed" and row.images
        (session,) = await h.gateway.get_user_sessions()
        (gen,) = await h.gateway.get_session_generations(session.id)
        assert not gen.is_loading and gen.image_urls == list(row.images)
        assert h.invariants() == []
