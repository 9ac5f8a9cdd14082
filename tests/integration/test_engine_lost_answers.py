"""The seed's flow (a backend that does not advertise server-billing): Convex mutations
whose answer is lost on the wire (a fault proxy in front of the real backend): the engine
asks Convex whether the mutation happened instead of repeating it, so nothing is charged,
released or taken twice and nothing is left behind. Also: close() lets an undo already
under way land before the clients close. (The one-call path resolves a lost answer by its
key: test_engine_one_call_lost.py.)"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.server import EmbeddedBackend
from bench.reliability.proxy import (
    DROP_AFTER,
    PASS,
    FaultAction,
    FaultProxy,
    RequestInfo,
)
from catalog import Options
from gui.engine import flow
from gui.engine.events import BackgroundError, GenerationCompleted, GenerationFailed
from gui.engine.request import EngineRequest
from tests.database_fixtures import BackendDatabases
from tests.integration.engine_support import Harness, engine_for, proxied_backend

# 1 image, 3 credits
SYNC = EngineRequest(prompt="a lighthouse", options=Options("img-imagen4-preview"))
QUEUED_FAIL = EngineRequest(prompt="a lighthouse [fail]", options=Options("img-nano-banana"))
COST = 3
START = 200.0


class CallRule:
    """Counts the requests that reach the backend for one Convex function (``name``) and
    applies ``action`` to the first ``times`` of them."""

    def __init__(self, name: str, action: FaultAction, times: int = 1) -> None:
        self.needle = f'"{name}"'.encode()
        self.action = action
        self.times = times
        self.calls = 0
        self.seen = threading.Event()

    def __call__(self, info: RequestInfo) -> FaultAction:
        if not info.path.startswith("/convex/api/") or self.needle not in info.body:
            return PASS
        self.calls += 1
        self.seen.set()
        return self.action if self.calls <= self.times else PASS


@pytest.fixture
def proxied(
    tmp_path: Path, backend_database: BackendDatabases
) -> Iterator[tuple[EmbeddedBackend, FaultProxy]]:
    # A deployment whose functions take no keys: the engine degrades to the seed's flow.
    with proxied_backend(
        tmp_path / "backend", backend_database, advertise_server_billing=False
    ) as pair:
        yield pair


async def _settled(h: Harness, charged: float) -> None:
    after = await h.breakdown()
    assert (START - after.total, after.reserved) == (charged, 0)
    assert h.invariants() == []
    sessions = await h.gateway.get_user_sessions()
    gens = [g for s in sessions for g in await h.gateway.get_session_generations(s.id)]
    assert not [g for g in gens if g.is_loading]


@pytest.mark.parametrize(
    "function",
    [
        "users:reserveCredits",
        "generations:acquireGenerationSlot",
        "sessions:createSession",
        "sessions:addGenerationToSession",
        "users:captureReservedCredits",
    ],
)
async def test_a_lost_answer_is_resolved_and_the_generation_completes(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path, function: str
) -> None:
    backend, proxy = proxied
    rule = CallRule(function, DROP_AFTER)
    async with engine_for(backend, tmp_path, user_id="u-" + function.split(":")[1]) as h:
        await h.gateway.release_reserved_credits(0)  # the user exists before the faults
        proxy.rule = rule
        result = await h.run(SYNC)
        assert isinstance(result, GenerationCompleted), result
        # The mutation reached the backend once: Convex said it had happened.
        assert rule.calls == 1
        await _settled(h, COST)
        (session,) = await h.gateway.get_user_sessions()  # no second, empty one
        assert result.session_id == session.id


async def test_a_lost_release_is_not_repeated_while_another_run_holds_credits(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path
) -> None:
    backend, proxy = proxied
    rule = CallRule("users:releaseReservedCredits", DROP_AFTER)
    async with engine_for(backend, tmp_path, user_id="u-release") as h:
        await h.gateway.release_reserved_credits(0)
        proxy.rule = rule
        ok = h.engine.submit(
            EngineRequest(prompt="a quiet harbour", options=Options("img-nano-banana"))
        )
        failing = h.engine.submit(QUEUED_FAIL)
        await h.engine.wait_idle()
        assert isinstance(h.terminal(ok), GenerationCompleted)
        failed = h.terminal(failing)
        assert isinstance(failed, GenerationFailed) and "simulated failure" in failed.message
        assert rule.calls == 1
        await _settled(h, COST)


async def test_undo_resolves_a_step_the_flow_could_not(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reserve's answer is lost and Convex stays unreadable for longer than the step
    waits: the run fails; its undo asks Convex again, finds the reservation and releases
    it, and fails the slot."""
    monkeypatch.setattr(flow, "WRITE_RETRY_DELAYS", (0.01, 0.01, 0.01, 0.01))
    backend, proxy = proxied
    reserve = CallRule("users:reserveCredits", DROP_AFTER)
    reads = CallRule("users:getUserCreditsBreakdown", FaultAction.error(503), times=4)

    def rule(info: RequestInfo) -> FaultAction:
        first = reserve(info)
        return first if first is not PASS else reads(info)

    async with engine_for(backend, tmp_path, user_id="u-undo") as h:
        await h.gateway.release_reserved_credits(0)
        proxy.rule = rule
        result = await h.run(SYNC)
        assert isinstance(result, GenerationFailed), result
        assert result.message == "Convex is unavailable right now (HTTP 503)."
        row = h.engine.journal.all()[0]
        assert row.state == "failed" and row.done("credits") and row.done("released")
        assert row.done("slot_failed")
        assert reserve.calls == 1 and reads.calls >= 5
        await _settled(h, 0)


async def test_close_waits_for_an_undo_under_way(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path
) -> None:
    backend, proxy = proxied
    release = CallRule("users:releaseReservedCredits", FaultAction("delay", delay_s=0.5))
    async with engine_for(backend, tmp_path, user_id="u-close") as h:
        await h.gateway.release_reserved_credits(0)
        proxy.rule = release
        h.engine.submit(QUEUED_FAIL)
        await asyncio.to_thread(release.seen.wait, 30)
        await h.engine.close()
        # close() returned only once the release landed and the row was finished.
        row = h.engine.journal.all()[0]
        assert row.state == "failed" and row.done("released"), row
        assert not [e for e in h.events if isinstance(e, BackgroundError)]
        await _settled(h, 0)


async def test_close_right_after_a_generation_leaves_no_background_work(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path
) -> None:
    backend, _ = proxied
    async with engine_for(backend, tmp_path, user_id="u-refresh") as h:
        assert isinstance(await h.run(SYNC), GenerationCompleted)
        await h.engine.close()
        assert not h.engine.credits.refreshing()  # the balance refreshes
    await asyncio.sleep(0.05)  # anything still running would fail on the closed client now
    assert not [e for e in h.events if isinstance(e, BackgroundError)]
