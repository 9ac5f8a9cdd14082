"""The one-call path end to end (docs/billing.md), through a recording proxy in front of the
real backend: one keyed generate call, no Convex mutation from the engine, the server
settles; cancel and the engine's own deadline call the cancel route by key. And the
degradation: a backend that does not advertise server-billing gets the seed's flow, whose
generate call names its concurrency slot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.server import EmbeddedBackend
from bench.reliability.proxy import PASS, FaultAction, FaultProxy, RequestInfo
from gui.engine.events import (
    CreditsChanged,
    EngineEvent,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
    Phase,
    SessionsChanged,
)
from gui.engine.polling import PollPolicy
from gui.engine.request import EngineRequest
from tests.database_fixtures import BackendDatabases
from tests.integration.engine_support import (
    CANCEL_PATH,
    GENERATE_PATH,
    QUEUED_REQUEST,
    START_CREDITS,
    SYNC_REQUEST,
    Harness,
    Recorder,
    engine_for,
    holds_of,
    proxied_backend,
)


@pytest.fixture
def proxied(
    tmp_path: Path, backend_database: BackendDatabases
) -> Iterator[tuple[EmbeddedBackend, FaultProxy]]:
    with proxied_backend(tmp_path / "backend", backend_database) as pair:
        yield pair


async def _no_loading_rows(h: Harness) -> list[object]:
    sessions = await h.gateway.get_user_sessions()
    gens = [g for s in sessions for g in await h.gateway.get_session_generations(s.id)]
    assert not [g for g in gens if g.is_loading]
    return gens


@pytest.mark.parametrize("request_", [SYNC_REQUEST, QUEUED_REQUEST], ids=["sync", "queued"])
async def test_one_keyed_call_and_the_server_settles(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path, request_: EngineRequest
) -> None:
    backend, proxy = proxied
    proxy.rule = recorder = Recorder()
    async with engine_for(backend, tmp_path, user_id="one-call") as h:
        done = await h.run(request_)
        assert isinstance(done, GenerationCompleted), done
        # The engine called no Convex mutation: the server took the slot, reserved, added
        # the row and settled.
        assert recorder.mutations() == []
        (call,) = recorder.to(GENERATE_PATH)
        body = call.json()
        assert body["idempotencyKey"].startswith("desktop-") and "concurrencySlotId" not in body
        assert body["sessionTitle"] == request_.prompt and "sessionId" not in body
        assert len(recorder.to("/healthz")) == 1  # probed once, off the submit path
        # The grid and the sidebar learn the session and the row as on the seed's flow.
        (session,) = await h.gateway.get_user_sessions()
        (gen,) = await h.gateway.get_session_generations(session.id)
        assert (done.session_id, done.generation_id) == (session.id, gen.id)
        assert gen.image_urls == list(done.image_urls) and not gen.is_loading
        h.fetch(done.image_urls[0])
        assert any(isinstance(e, SessionsChanged) for e in h.events)
        progress = [e for e in h.events if isinstance(e, GenerationProgress)]
        assert progress[-1].phase == Phase.SAVING and progress[-1].generation_id == gen.id
        assert isinstance(h.events[0], GenerationStarted)
        row = h.engine.journal.all()[0]
        assert row.state == "completed" and row.generation_id == gen.id
        assert h.steps.of(row.local_id)[:3] == [
            ("uploaded", "end"),
            ("generate", "begin"),
            ("generate", "end"),
        ]
        (hold,) = holds_of(backend, h.user_id)
        assert (hold["key"], hold["outcome"]) == (body["idempotencyKey"], "completed")
        charged = request_.options.cost
        after = await h.breakdown()
        assert (START_CREDITS - after.total, after.reserved) == (charged, 0)
        if request_ is QUEUED_REQUEST:
            # The header counted the hold while the job ran.
            credits = [e for e in h.events if isinstance(e, CreditsChanged)]
            assert credits[0].reserved == charged
        assert h.invariants() == []


async def test_an_existing_session_gets_the_row(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path
) -> None:
    backend, proxy = proxied
    proxy.rule = recorder = Recorder()
    async with engine_for(backend, tmp_path, user_id="in-session") as h:
        session_id = await h.gateway.create_session("Foxes", "image")
        done = await h.run(
            EngineRequest(prompt="a fox", options=SYNC_REQUEST.options, session_id=session_id)
        )
        assert isinstance(done, GenerationCompleted) and done.session_id == session_id
        body = recorder.to(GENERATE_PATH)[0].json()
        assert body["sessionId"] == session_id and "sessionTitle" not in body
        (gen,) = await h.gateway.get_session_generations(session_id)
        assert gen.id == done.generation_id and gen.image_urls == list(done.image_urls)
        assert recorder.mutations() == ["sessions:createSession"]  # the test's own
        assert not any(isinstance(e, SessionsChanged) for e in h.events)


async def test_cancel_calls_the_cancel_route_by_key(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path
) -> None:
    backend, proxy = proxied
    proxy.rule = recorder = Recorder()
    async with engine_for(backend, tmp_path, user_id="cancel") as h:
        cancels: list[asyncio.Task[None]] = []

        def on_event(event: EngineEvent) -> None:
            if isinstance(event, GenerationProgress) and event.phase == Phase.QUEUED:
                if not cancels:
                    cancels.append(asyncio.ensure_future(h.engine.cancel(event.local_id)))

        h.engine.events.subscribe(on_event)
        result = await h.run(QUEUED_REQUEST)
        await asyncio.gather(*cancels)
        assert isinstance(result, GenerationCancelled), result
        key = recorder.to(GENERATE_PATH)[0].json()["idempotencyKey"]
        (call,) = recorder.to(CANCEL_PATH)
        assert (
            call.json()["idempotencyKey"] == key
            and call.json()["modelId"] == QUEUED_REQUEST.options.model
        )
        assert recorder.mutations() == []
        (hold,) = holds_of(backend, h.user_id)
        assert (hold["outcome"], hold["charged"]) == ("cancelled", 0)
        (gen,) = await _no_loading_rows(h)
        assert gen.error == "Cancelled." and gen.id == result.generation_id
        after = await h.breakdown()
        assert (after.total, after.reserved) == (START_CREDITS, 0)
        assert h.engine.journal.all()[0].state == "cancelled"
        assert h.invariants() == []


async def test_the_engines_deadline_cancels_by_key(backend_factory: object, tmp_path: Path) -> None:
    """The job outlives the engine's hard deadline: the engine gives up, and the cancel
    route stops the job and releases the hold (nothing charged)."""
    backend = backend_factory(local_queue_s=5.0, local_run_s=5.0)  # type: ignore[operator]
    short = PollPolicy(initial_s=0.05, max_s=0.1, deadline_s=0.5, long_poll_s=0.2)
    async with engine_for(backend, tmp_path, user_id="deadline", poll=short) as h:
        result = await h.run(QUEUED_REQUEST)
        assert isinstance(result, GenerationFailed) and result.code == "timeout", result
        row = h.engine.journal.all()[0]
        assert row.state == "failed" and ("cancel", "end") in h.steps.of(row.local_id)
        (hold,) = holds_of(backend, h.user_id)
        assert (hold["outcome"], hold["charged"]) == ("cancelled", 0)
        await _no_loading_rows(h)
        after = await h.breakdown()
        assert (after.total, after.reserved) == (START_CREDITS, 0)
        assert h.invariants() == []


@pytest.mark.parametrize("request_", [SYNC_REQUEST, QUEUED_REQUEST], ids=["sync", "queued"])
async def test_a_backend_without_server_billing_gets_the_seeds_flow(
    tmp_path: Path, backend_database: BackendDatabases, request_: EngineRequest
) -> None:
    with proxied_backend(
        tmp_path / "backend", backend_database, advertise_server_billing=False
    ) as (backend, proxy):
        proxy.rule = recorder = Recorder()
        async with engine_for(backend, tmp_path, user_id="seed") as h:
            done = await h.run(request_)
            assert isinstance(done, GenerationCompleted), done
            body = recorder.to(GENERATE_PATH)[0].json()
            assert body["concurrencySlotId"] and "idempotencyKey" not in body
            assert {"generations:acquireGenerationSlot", "users:reserveCredits"} <= set(
                recorder.mutations()
            )
            (hold,) = holds_of(backend, h.user_id)  # the server bound the client's slot
            assert (hold["kind"], hold["slotId"]) == ("slot", body["concurrencySlotId"])
            await _no_loading_rows(h)
            after = await h.breakdown()
            assert (START_CREDITS - after.total, after.reserved) == (request_.options.cost, 0)
            assert h.invariants() == []


async def test_changes_during_a_credits_refresh_share_one_more_read(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path
) -> None:
    """Three generations answered at once ask for the balance three times: the first read
    goes out, the other two share one read after it (which sees every change), not two."""
    backend, proxy = proxied
    breakdown = "users:getUserCreditsBreakdown"
    slow_first = {"left": 1}

    def fault(info: RequestInfo) -> FaultAction:
        if b'"' + breakdown.encode() + b'"' in info.body and slow_first["left"]:
            slow_first["left"] -= 1
            return FaultAction("delay", delay_s=0.4)  # still on its way below
        return PASS

    proxy.rule = recorder = Recorder(fault)
    async with engine_for(backend, tmp_path, user_id="coalesced") as h:
        credits = h.engine.credits
        credits.refresh_soon()
        await asyncio.sleep(0.1)
        await h.gateway.reserve_credits(7)  # a change while the first read is on its way
        credits.refresh_soon()
        credits.refresh_soon()
        while credits.refreshing():  # noqa: ASYNC110 - the refreshes are the engine's own
            await asyncio.sleep(0.02)
        reads = [s for s in recorder.seen if s.convex_function() == breakdown]
        assert len(reads) == 2
        shown = [e for e in h.events if isinstance(e, CreditsChanged)]
        assert len(shown) == 2
        assert (shown[-1].total, shown[-1].reserved) == (START_CREDITS, 7)
        # Once nothing is on its way, the next change is read at once again.
        credits.refresh_soon()
        while credits.refreshing():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        assert len([s for s in recorder.seen if s.convex_function() == breakdown]) == 3
