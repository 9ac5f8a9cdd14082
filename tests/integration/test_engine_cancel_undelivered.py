"""The seed's flow when its cancel cannot reach the server (engineer B's crash-harness find).

The engine's deadline passes on a queued job, so it cancels the job (POST
/api/generate-images/cancel, keyed ``slot:<id>``) before releasing its credits and failing
its slot. The fault proxy loses that cancel; the job then finishes on the server, whose
billing hold still binds the reservation, and the server's sweeper captures it. The tile
must never say "failed, nothing was charged" for a generation the user pays for: the
engine keeps it open until a cancel is answered, then shows what the server decided -
completed and charged (with its images), or failed and not charged.

No timing luck: the local provider's job is made to never fall due on its own, and the test
makes it due (its row's timing) only once the engine has given up and its cancel was lost.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.providers.local_queue_tables import jobs
from backend.server import EmbeddedBackend
from backend.storage.engine import write_transaction
from bench.reliability.audit import audit
from bench.reliability.proxy import DROP_BEFORE, PASS, FaultAction, FaultProxy, RequestInfo
from catalog import MODELS, Options, cost
from gui.engine import seed_cancel
from gui.engine.events import GenerationCompleted, GenerationFailed
from gui.engine.polling import PollPolicy
from gui.engine.request import EngineRequest
from tests.database_fixtures import BackendDatabases
from tests.integration.engine_support import (
    CANCEL_PATH,
    START_CREDITS,
    Harness,
    Recorder,
    engine_for,
    holds_of,
    proxied_backend,
)

MODEL = "img-nano-banana"
REQUEST = EngineRequest(prompt="a lighthouse #1", options=Options(MODEL))
COST = float(cost(MODEL, 1))
# The engine gives up on the job after one second; the job itself never falls due alone.
SHORT_DEADLINE = PollPolicy(initial_s=0.05, factor=1.5, max_s=0.2, deadline_s=1.0, long_poll_s=0.5)
NEVER_S = 24 * 3600.0
WAIT_S = 60.0


@pytest.fixture
def proxied(
    tmp_path: Path, backend_database: BackendDatabases
) -> Iterator[tuple[EmbeddedBackend, FaultProxy]]:
    with proxied_backend(
        tmp_path / "backend",
        backend_database,
        local_run_s=NEVER_S,
        settle_sweep_interval_s=0.2,
    ) as pair:
        yield pair


@pytest.fixture(autouse=True)
def quick_cancel_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine asks again every 0.1 s instead of backing off to seconds."""
    monkeypatch.setattr(seed_cancel, "RETRY_DELAYS", (0.1,))


class CancelGate:
    """A proxy rule losing every cancel (the server never sees it) until opened."""

    def __init__(self, lost: FaultAction = DROP_BEFORE) -> None:
        self.lost = lost
        self.opened = threading.Event()

    def __call__(self, info: RequestInfo) -> FaultAction:
        if info.path == CANCEL_PATH and not self.opened.is_set():
            return self.lost
        return PASS


async def until(check: Callable[[], Any], what: str) -> None:
    for _ in range(int(WAIT_S / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting until {what}")


def finish_jobs_now(backend: EmbeddedBackend) -> None:
    """Make the provider's jobs due at once (as if they had just finished rendering)."""
    provider = backend.app.state.providers.for_model(MODELS[MODEL])
    with write_transaction(provider.jobs.engine) as conn:
        conn.execute(jobs.update().values(queue_s=0.0, run_s=0.0))


def settled(backend: EmbeddedBackend, user_id: str) -> dict[str, Any] | None:
    found = holds_of(backend, user_id)
    return found[0] if found and found[0]["state"] == "settled" else None


async def shown_matches_charged(h: Harness, local_id: str) -> None:
    """The invariant: completed-and-charged (with its images) or failed-and-not-charged."""
    outcome = h.terminal(local_id)
    after = await h.breakdown()
    charged = START_CREDITS - after.total
    if isinstance(outcome, GenerationFailed):
        assert charged == 0, f"charged {charged} for a tile shown as failed: {outcome.message}"
    elif isinstance(outcome, GenerationCompleted):
        assert charged == COST and outcome.image_urls, outcome


def audit_of(backend: Any, proxy: FaultProxy, user_id: str) -> list[str]:
    config = backend.backend.config  # behind the proxy (engine_support.ViaProxy)
    report = audit(
        config.data_dir,
        user_id,
        {1: COST},
        START_CREDITS,
        proxy.base_url,
        database_url=config.database_url,
    )
    return report.problems


@pytest.mark.parametrize(
    "lost", [DROP_BEFORE, FaultAction.error(502)], ids=["unreachable", "gateway-502"]
)
async def test_a_job_finishing_after_an_undelivered_cancel_is_shown_and_charged_once(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path, lost: FaultAction
) -> None:
    backend, proxy = proxied
    gate = CancelGate(lost)
    proxy.rule = recorder = Recorder(gate)
    user = "cancel-lost-delivered"
    async with engine_for(
        backend, tmp_path, user_id=user, poll=SHORT_DEADLINE, server_billing=False
    ) as h:
        local_id = h.engine.submit(REQUEST)
        await until(lambda: recorder.to(CANCEL_PATH), "the deadline's cancel was lost")
        # The user presses cancel too: it waits for the server's verdict, shows nothing.
        pressed = asyncio.ensure_future(h.engine.cancel(local_id))
        finish_jobs_now(backend)  # the job ends on the server after all
        await until(lambda: settled(backend, user), "the server settled the job")
        hold = settled(backend, user)
        assert hold is not None and hold["outcome"] == "completed" and hold["charged"] == COST
        # Meanwhile the tile was never shown as failed while its credits were being taken.
        await shown_matches_charged(h, local_id)
        assert h.terminal(local_id) is None and not pressed.done()
        lost_cancels = len(recorder.to(CANCEL_PATH))
        gate.opened.set()
        await asyncio.wait_for(h.engine.wait_idle(), WAIT_S)
        await asyncio.wait_for(pressed, WAIT_S)

        assert len(recorder.to(CANCEL_PATH)) > lost_cancels  # asked again until answered
        outcome = h.terminal(local_id)
        assert isinstance(outcome, GenerationCompleted), outcome
        await shown_matches_charged(h, local_id)
        ends = [e for e in h.events if getattr(e, "local_id", None) == local_id]
        assert not any(isinstance(e, GenerationFailed) for e in ends)
        after = await h.breakdown()
        assert (START_CREDITS - after.total, after.reserved) == (COST, 0)  # charged once
        (session,) = await h.gateway.get_user_sessions()
        (gen,) = await h.gateway.get_session_generations(session.id)
        assert gen.image_urls == list(outcome.image_urls) and gen.error is None
        assert not gen.is_loading
        assert h.fetch(outcome.image_urls[0]).size == (1024, 1024)
        row = h.engine.journal.get(local_id)
        assert row is not None and row.state == "completed"
        log = h.steps.of(local_id)
        assert ("cancel", "end") in log
        assert not any(step in ("released", "slot_failed", "error_saved") for step, _ in log)
        assert h.invariants() == []
    assert audit_of(backend, proxy, user) == []


async def test_a_cancel_answered_after_being_lost_fails_the_tile_and_charges_nothing(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path
) -> None:
    backend, proxy = proxied
    lost: list[int] = []

    def lose_three(info: RequestInfo) -> FaultAction:
        if info.path == CANCEL_PATH and len(lost) < 3:
            lost.append(info.index)
            return DROP_BEFORE
        return PASS

    proxy.rule = recorder = Recorder(lose_three)
    user = "cancel-lost-cancelled"
    async with engine_for(
        backend, tmp_path, user_id=user, poll=SHORT_DEADLINE, server_billing=False
    ) as h:
        outcome = await asyncio.wait_for(h.run(REQUEST), WAIT_S)
        assert isinstance(outcome, GenerationFailed), outcome
        assert "nothing was charged" in outcome.message and outcome.retryable
        await shown_matches_charged(h, outcome.local_id)
        assert len(recorder.to(CANCEL_PATH)) == 4  # three lost, the fourth answered
        hold = settled(backend, user)
        assert hold is not None and (hold["outcome"], hold["charged"]) == ("cancelled", 0)
        after = await h.breakdown()
        assert (after.total, after.reserved) == (START_CREDITS, 0)
        log = h.steps.of(outcome.local_id)
        # Released and failed only once the server said the job was stopped.
        cancel_end = log.index(("cancel", "end"))
        assert log.index(("released", "begin")) > cancel_end
        assert log.index(("slot_failed", "begin")) > cancel_end
        (session,) = await h.gateway.get_user_sessions()
        (gen,) = await h.gateway.get_session_generations(session.id)
        assert (gen.is_loading, gen.error) == (False, outcome.message)
        assert h.invariants() == []
    assert audit_of(backend, proxy, user) == []


async def test_closed_while_the_cancel_is_lost_the_next_start_shows_what_the_server_did(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path
) -> None:
    backend, proxy = proxied
    gate = CancelGate()
    proxy.rule = recorder = Recorder(gate)
    user = "cancel-lost-closed"
    async with engine_for(
        backend, tmp_path, user_id=user, poll=SHORT_DEADLINE, server_billing=False
    ) as h:
        local_id = h.engine.submit(REQUEST)
        await until(lambda: recorder.to(CANCEL_PATH), "the cancel was lost")
    # Closed with the cancel unanswered: no verdict was shown, the row stays open.
    assert h.terminal(local_id) is None
    finish_jobs_now(backend)
    await until(lambda: settled(backend, user), "the server settled the job")
    gate.opened.set()
    async with engine_for(
        backend, tmp_path, user_id=user, poll=SHORT_DEADLINE, server_billing=False
    ) as again:
        row = again.engine.journal.get(local_id)
        assert row is not None and row.state == "active" and row.uncertain("cancel")
        assert local_id in await again.engine.start()
        await asyncio.wait_for(again.engine.wait_idle(), WAIT_S)
        outcome = again.terminal(local_id)
        assert isinstance(outcome, GenerationCompleted), outcome
        await shown_matches_charged(again, local_id)
        assert again.invariants() == []
    assert audit_of(backend, proxy, user) == []
