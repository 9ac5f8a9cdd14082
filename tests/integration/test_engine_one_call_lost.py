"""A lost generate answer on the one-call path is resolved by its key: the fault proxy loses
the answer after the server processed the request (or the request before it arrived, or
the server is still working on it), the engine asks again with the same key, the server
answers its first answer, and there is one job and one charge."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.server import EmbeddedBackend
from bench.reliability.proxy import DROP_AFTER, DROP_BEFORE, PASS, FaultAction, FaultProxy
from catalog import MODELS, cost
from gui.engine import server_flow
from gui.engine.events import GenerationCompleted
from gui.engine.request import EngineRequest
from tests.database_fixtures import BackendDatabases
from tests.integration.engine_support import (
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
    # A short replay wait, so "in progress" answers come quickly. The sync deadline stays
    # the default: a sync call must end with its images, however loaded the machine.
    with proxied_backend(tmp_path / "backend", backend_database, replay_wait_s=0.2) as pair:
        yield pair


@pytest.fixture
def slow_proxied(
    tmp_path: Path, backend_database: BackendDatabases
) -> Iterator[tuple[EmbeddedBackend, FaultProxy]]:
    # A short sync deadline too, so "still running" answers come quickly.
    with proxied_backend(
        tmp_path / "backend", backend_database, sync_deadline_s=0.5, replay_wait_s=0.2
    ) as pair:
        yield pair


def first_generate(action: FaultAction) -> Recorder:
    done: list[bool] = []

    def fault(info: Any) -> FaultAction:
        if info.path == GENERATE_PATH and not done:
            done.append(True)
            return action
        return PASS

    return Recorder(fault)


async def _one_job_one_charge(
    h: Harness, backend: EmbeddedBackend, recorder: Recorder, done: object, model: str
) -> None:
    assert isinstance(done, GenerationCompleted), done
    calls = recorder.to(GENERATE_PATH)
    assert len(calls) >= 2
    assert len({c.json()["idempotencyKey"] for c in calls}) == 1  # the same key each time
    assert recorder.mutations() == []
    (hold,) = holds_of(backend, h.user_id)  # one job
    assert hold["outcome"] == "completed" and hold["charged"] == cost(model, 1)
    after = await h.breakdown()
    assert (START_CREDITS - after.total, after.reserved) == (cost(model, 1), 0)  # one charge
    (session,) = await h.gateway.get_user_sessions()
    (gen,) = await h.gateway.get_session_generations(session.id)
    assert gen.id == done.generation_id and gen.image_urls == list(done.image_urls)
    assert not gen.is_loading
    assert h.invariants() == []


@pytest.mark.parametrize("request_", [SYNC_REQUEST, QUEUED_REQUEST], ids=["sync", "queued"])
@pytest.mark.parametrize(
    "action",
    [DROP_AFTER, DROP_BEFORE, FaultAction.error(502)],
    ids=["answer-lost", "request-lost", "gateway-502"],
)
async def test_a_lost_generate_answer_is_resolved_by_its_key(
    proxied: tuple[EmbeddedBackend, FaultProxy],
    tmp_path: Path,
    request_: EngineRequest,
    action: FaultAction,
) -> None:
    backend, proxy = proxied
    proxy.rule = recorder = first_generate(action)
    async with engine_for(backend, tmp_path, user_id="lost") as h:
        done = await h.run(request_)
        await _one_job_one_charge(h, backend, recorder, done, request_.options.model)
        if action is DROP_AFTER:
            # The server had done the work: the repeat was answered from the first answer.
            assert len(recorder.to(GENERATE_PATH)) == 2


async def test_a_slow_sync_call_is_waited_for_by_key(
    slow_proxied: tuple[EmbeddedBackend, FaultProxy],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The provider takes longer than the server's sync deadline: the first answer is
    504 still_running, repeats get 409 request_in_progress, and the key finally gets the
    images of the one job."""
    monkeypatch.setattr(server_flow, "MAX_RETRY_AFTER_S", 0.2)
    backend, proxy = slow_proxied
    proxy.rule = recorder = Recorder()
    provider = backend.app.state.providers.for_model(MODELS[SYNC_REQUEST.options.model])
    original = provider.submit

    async def slow_submit(request: Any) -> Any:
        await asyncio.sleep(1.5)
        return await original(request)

    monkeypatch.setattr(provider, "submit", slow_submit)
    async with engine_for(backend, tmp_path, user_id="slow") as h:
        done = await h.run(SYNC_REQUEST)
        await _one_job_one_charge(h, backend, recorder, done, SYNC_REQUEST.options.model)
        # 504 still_running, then 409 request_in_progress, then the images.
        assert len(recorder.to(GENERATE_PATH)) >= 3
