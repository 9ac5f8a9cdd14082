"""The seed's flow (a backend that does not advertise server-billing): the client killed
(SIGKILL) right after each journaled step, then restarted: the next start finishes what
can finish and cleans up the rest. Never charged twice, never a lost image, and the Convex
invariants hold. All kill points run in parallel on one backend, each as its own user.
(The one-call path: test_engine_one_call_resume.py.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend.server import EmbeddedBackend
from gui.engine.events import GenerationCompleted, GenerationFailed
from tests.conftest import BackendFactory
from tests.integration.engine_support import KILL_DRIVER, engine_for, run_until_killed

MODEL = "img-nano-banana"
COST = 3

# kill point -> expected outcome after resume (None: depends on a race, both are fine)
SUCCESS_PATH: dict[str, str | None] = {
    "uploaded:end": "failed",
    "slot:begin": "failed",
    "slot:end": "failed",
    "credits:begin": "failed",
    "credits:end": "failed",
    "session:end": None,
    "loading_row:end": None,
    "generate:begin": None,
    "generate:end": "completed",
    "request_id_saved:end": "completed",
    "polled:end": "completed",
    "images_saved:end": "completed",
    "captured:begin": "completed",
    "captured:end": "completed",
    "slot_completed:end": "completed",
}
FAILURE_PATH: dict[str, str | None] = {
    "error_saved:end": "failed",
    "released:begin": "failed",
    "released:end": "failed",
    "slot_failed:end": "failed",
}


async def _resume_and_check(
    backend: EmbeddedBackend, user: str, data_dir: Path, kill_at: str, expected: str | None
) -> None:
    async with engine_for(backend, data_dir, user_id=user) as h:
        resumed = await h.engine.start()
        await h.engine.wait_idle()
        outcomes = [h.terminal(i) for i in resumed]
        rows = h.engine.journal.all()
        assert len(rows) == 1 and rows[0].state in ("completed", "failed"), (kill_at, rows)
        row = rows[0]
        outcome = row.state
        if expected is not None:
            assert outcome == expected, (kill_at, outcome, row.error)
        after = await h.breakdown()
        charged = 200 - after.total
        sessions = await h.gateway.get_user_sessions()
        gens = [g for s in sessions for g in await h.gateway.get_session_generations(s.id)]
        if outcome == "completed":
            assert charged == COST, (kill_at, charged)
            assert len(gens) == 1 and gens[0].image_urls and not gens[0].is_loading, kill_at
            h.fetch(gens[0].image_urls[0])  # the finished image is really there
            if resumed:
                assert isinstance(outcomes[0], GenerationCompleted), (kill_at, outcomes)
        else:
            assert charged == 0, (kill_at, charged)
            assert all(not g.is_loading and g.error for g in gens), (kill_at, gens)
            if resumed:
                assert isinstance(outcomes[0], GenerationFailed), (kill_at, outcomes)
        assert after.reserved == 0, kill_at
        assert h.invariants() == [], (kill_at, h.invariants())


async def _case(
    backend: EmbeddedBackend,
    tmp_path: Path,
    n: int,
    kill_at: str,
    expected: str | None,
    prompt: str,
) -> None:
    user = f"crash-{n}"
    data_dir = tmp_path / user
    await run_until_killed(
        KILL_DRIVER, backend.base_url, user, str(data_dir), MODEL, prompt, kill_at=kill_at
    )
    await _resume_and_check(backend, user, data_dir, kill_at, expected)


@pytest.fixture
def legacy_backend(backend_factory: BackendFactory) -> EmbeddedBackend:
    return backend_factory(advertise_server_billing=False)


async def test_killed_after_each_journaled_step_then_resumed(
    legacy_backend: EmbeddedBackend, tmp_path: Path
) -> None:
    backend = legacy_backend
    cases = [(k, e, "a harbour at dawn") for k, e in SUCCESS_PATH.items()]
    cases += [(k, e, "a harbour [fail]") for k, e in FAILURE_PATH.items()]
    await asyncio.gather(
        *(_case(backend, tmp_path, n, k, e, p) for n, (k, e, p) in enumerate(cases))
    )


async def test_loading_rows_left_by_another_client_are_finished(
    backend: EmbeddedBackend, tmp_path: Path
) -> None:
    # Another client (no journal here) acquired a slot, submitted a queued job, added the
    # loading row with its request id, then died.
    async with engine_for(backend, tmp_path / "other", user_id="orphans") as other:
        gateway = other.gateway
        session_id = await gateway.create_session("From the phone", "image")
        slot = await gateway.acquire_generation_slot("a cabin")
        job = await other.engine.api.generate({"prompt": "a cabin", "model": MODEL})
        assert job.request_id and slot.generation_id
        gen_id = await gateway.add_generation_to_session(
            session_id,
            prompt="a cabin",
            model=MODEL,
            is_loading=True,
            concurrency_slot_id=slot.generation_id,
            external_request_id=job.request_id,
        )
    async with engine_for(backend, tmp_path / "desktop", user_id="orphans") as h:
        resumed = await h.engine.start()
        assert resumed == [f"convex-{gen_id}"]
        await h.engine.wait_idle()
        done = h.terminal(resumed[0])
        assert isinstance(done, GenerationCompleted) and done.generation_id == gen_id
        (gen,) = await h.gateway.get_session_generations(session_id)
        assert not gen.is_loading and gen.image_urls == list(done.image_urls)
        h.fetch(gen.image_urls[0])
        assert h.invariants() == []
        assert await h.engine.start() == []  # nothing left to resume
