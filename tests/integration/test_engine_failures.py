"""Failure paths through the real engine: slot limit, cancellation at each step, provider
failure. After each, the Convex invariants hold and no credit was spent. Each runs on the
one-call path (the backend settles, docs/billing.md) and on the seed's flow (the engine's
setting forces it against the same backend, which then checks the client's slot and
reservation)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend.server import EmbeddedBackend
from catalog import Options, cost
from gui.engine.events import (
    EngineEvent,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    Phase,
)
from gui.engine.request import EngineRequest
from tests.integration.engine_support import engine_for, image_bytes

SLOT_MESSAGE = "You already have 4 generations running. Wait for one to finish."
# The engine's setting: None asks the backend (which advertises server-billing), False
# forces the seed's flow.
PATHS = pytest.mark.parametrize("billing", [None, False], ids=["one-call", "seed"])


@PATHS
async def test_eight_at_once_hit_the_slot_limit_cleanly(
    backend: EmbeddedBackend, tmp_path: Path, billing: bool | None
) -> None:
    async with engine_for(backend, tmp_path, server_billing=billing) as h:
        before = await h.breakdown()
        ids = [
            h.engine.submit(EngineRequest(prompt=f"cat {i}", options=Options("img-nano-banana")))
            for i in range(8)
        ]
        await h.engine.wait_idle()
        results = [h.terminal(i) for i in ids]
        done = [r for r in results if isinstance(r, GenerationCompleted)]
        refused = [r for r in results if isinstance(r, GenerationFailed)]
        assert len(done) == 4 and len(refused) == 4, results
        assert {r.message for r in refused} == {SLOT_MESSAGE}
        assert {r.code for r in refused} == {"slot_limit"}
        after = await h.breakdown()
        assert before.total - after.total == 4 * 3  # only the four that ran were charged
        assert after.reserved == 0
        assert h.invariants() == []


ONE_CALL_PHASES = [Phase.VALIDATING, Phase.UPLOADING, Phase.SUBMITTING, Phase.QUEUED]
CANCEL_CASES = [(p, None) for p in ONE_CALL_PHASES] + [
    (p, False) for p in [*ONE_CALL_PHASES[:2], Phase.RESERVING, *ONE_CALL_PHASES[2:]]
]


@pytest.mark.parametrize(
    ("phase", "billing"),
    CANCEL_CASES,
    ids=[f"{'one-call' if b is None else 'seed'}-{p.value}" for p, b in CANCEL_CASES],
)
async def test_cancel_at_each_step_undoes_everything_once(
    backend: EmbeddedBackend, tmp_path: Path, phase: Phase, billing: bool | None
) -> None:
    async with engine_for(backend, tmp_path, server_billing=billing) as h:
        before = await h.breakdown()
        cancels: list[asyncio.Task[None]] = []

        def on_event(event: EngineEvent) -> None:
            if isinstance(event, GenerationProgress) and event.phase == phase and not cancels:
                cancels.append(asyncio.ensure_future(h.engine.cancel(event.local_id)))

        h.engine.events.subscribe(on_event)
        local_id = h.engine.submit(
            EngineRequest(
                prompt="a boat",
                options=Options("img-nano-banana-edit"),
                attachments=((image_bytes(), "boat.png"),),
            )
        )
        await h.engine.wait_idle()
        await asyncio.gather(*cancels)
        assert cancels, f"phase {phase} was never reached"
        outcome = h.terminal(local_id)
        assert isinstance(outcome, GenerationCancelled), outcome
        ends = [
            e
            for e in h.events
            if getattr(e, "local_id", None) == local_id
            and isinstance(e, GenerationCancelled | GenerationFailed | GenerationCompleted)
        ]
        assert len(ends) == 1  # exactly one outcome
        after = await h.breakdown()
        assert (after.total, after.reserved) == (before.total, 0)
        assert h.invariants() == []
        row = h.engine.journal.get(local_id)
        if row is not None:
            assert row.state == "cancelled"
            log = h.steps.of(local_id)
            for step in ("released", "slot_failed", "error_saved"):
                assert log.count((step, "end")) <= 1
            if billing is None and row.began("generate"):
                assert ("cancel", "end") in log  # the cancel route was called by key
            if row.generation_id:
                gens = await h.gateway.get_session_generations(row.session_id or "")
                assert [(g.is_loading, g.error) for g in gens] == [(False, "Cancelled.")]


@PATHS
async def test_cancel_after_images_are_ready_is_too_late(
    backend: EmbeddedBackend, tmp_path: Path, billing: bool | None
) -> None:
    async with engine_for(backend, tmp_path, server_billing=billing) as h:
        cancels: list[asyncio.Task[None]] = []

        def on_event(event: EngineEvent) -> None:
            if isinstance(event, GenerationProgress) and event.phase == Phase.SAVING:
                cancels.append(asyncio.ensure_future(h.engine.cancel(event.local_id)))

        h.engine.events.subscribe(on_event)
        result = await h.run(EngineRequest(prompt="a kite", options=Options("img-imagen4-preview")))
        await asyncio.gather(*cancels)
        assert cancels and isinstance(result, GenerationCompleted)
        assert h.invariants() == []


@PATHS
@pytest.mark.parametrize("model", ["img-imagen4-preview", "img-nano-banana"])
async def test_provider_failure_is_reported_and_refunded(
    backend: EmbeddedBackend, tmp_path: Path, model: str, billing: bool | None
) -> None:
    async with engine_for(backend, tmp_path, server_billing=billing) as h:
        before = await h.breakdown()
        result = await h.run(EngineRequest(prompt="this will [fail]", options=Options(model)))
        assert isinstance(result, GenerationFailed), result
        assert result.message and result.message[0].isupper() and result.retryable
        after = await h.breakdown()
        assert (after.total, after.reserved) == (before.total, 0)
        row = h.engine.journal.all()[0]
        assert row.state == "failed"
        (session,) = await h.gateway.get_user_sessions()
        gens = await h.gateway.get_session_generations(session.id)
        assert len(gens) == 1 and not gens[0].is_loading and gens[0].error == result.message
        assert h.invariants() == []


@PATHS
async def test_invalid_request_fails_before_any_network(
    backend: EmbeddedBackend, tmp_path: Path, billing: bool | None
) -> None:
    async with engine_for(backend, tmp_path, server_billing=billing) as h:
        result = await h.run(
            EngineRequest(prompt="x", options=Options("img-gpt-image-1", aspect_ratio="16:9"))
        )
        assert isinstance(result, GenerationFailed)
        assert "16:9" in result.message and not result.retryable
        assert h.engine.journal.all() == []  # nothing was started
        assert await h.gateway.get_user_sessions() == []


@PATHS
async def test_not_enough_credits_is_clear_and_releases_the_slot(
    backend_factory: object, tmp_path: Path, billing: bool | None
) -> None:
    backend = backend_factory(starting_credits=5)  # type: ignore[operator]
    async with engine_for(backend, tmp_path, server_billing=billing) as h:
        request = EngineRequest(
            prompt="a teapot", options=Options("img-gpt-image-1-5", quality="high")
        )
        result = await h.run(request)
        assert isinstance(result, GenerationFailed)
        assert "credits" in result.message.lower() and result.code == "credits"
        assert not result.retryable
        after = await h.breakdown()
        assert (after.total, after.reserved) == (5, 0)
        assert h.invariants() == []


async def test_a_refused_convex_write_is_settled_not_left_open(
    backend: EmbeddedBackend, tmp_path: Path
) -> None:
    """A mutation Convex refuses (here: a session id that is no id) certainly did not
    happen: the generation is settled once and its journal row closed, not retried at
    every start. (The seed's flow: on the one-call path the server refuses it.) The sync
    generate call ran alongside the refused row and the server charged its images, so
    they are not withheld behind a "failed" tile: they go in a new session."""
    async with engine_for(backend, tmp_path, server_billing=False) as h:
        before = await h.breakdown()
        request = EngineRequest(
            prompt="a red kite", options=Options("img-imagen4-preview"), session_id="bogus123"
        )
        result = await h.run(request)
        assert isinstance(result, GenerationCompleted), result
        assert result.session_id not in (None, "bogus123") and result.image_urls
        gens = await h.gateway.get_session_generations(result.session_id or "")
        assert [g.image_urls for g in gens] == [list(result.image_urls)]
        assert before.total - (await h.breakdown()).total == cost("img-imagen4-preview", 1)
        row = h.engine.journal.all()[0]
        assert row.state == "completed" and row.steps["loading_row"] == "end"
        assert h.engine.journal.unfinished() == []
        assert await h.engine.start() == []
        assert (await h.breakdown()).reserved == 0
        assert h.invariants() == []


async def test_an_unknown_session_is_refused_before_anything_is_held(
    backend: EmbeddedBackend, tmp_path: Path
) -> None:
    async with engine_for(backend, tmp_path) as h:
        request = EngineRequest(
            prompt="a red kite", options=Options("img-imagen4-preview"), session_id="x1"
        )
        result = await h.run(request)
        assert isinstance(result, GenerationFailed), result
        assert not result.retryable and result.code == "session_not_found"
        (row,) = h.engine.journal.all()
        assert row.state == "failed" and ("cancel", "begin") not in h.steps.of(row.local_id)
        assert await h.engine.start() == []
        assert (await h.breakdown()).reserved == 0
        assert h.invariants() == []
