"""LocalProvider.cancel: a cancelled job never completes and reads FAILED "Cancelled."."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from backend.providers.base import ProviderRequest
from backend.providers.local import LocalProvider
from backend.providers.local_queue import CANCELLED
from backend.store.local import LocalObjectStore
from catalog import MODELS

MODEL = MODELS["img-nano-banana"]  # a queued model


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def provider(tmp_path: Path, queue_db: str, clock: Clock) -> LocalProvider:
    store = LocalObjectStore(
        tmp_path / "files", "http://127.0.0.1:8765", b"cancel-tests-secret-0123456789ab"
    )
    return LocalProvider(store, queue_db, queue_s=1.0, run_s=1.0, clock=clock)


def request() -> ProviderRequest:
    return ProviderRequest(prompt="a quiet harbour", model=MODEL, aspect_ratio="1:1", num_images=2)


async def _job(provider: LocalProvider) -> str:
    job_id = (await provider.submit(request())).job_id
    assert job_id is not None
    return job_id


async def test_queued_job_cancelled_never_completes(provider: LocalProvider, clock: Clock) -> None:
    job_id = await _job(provider)
    assert (await provider.status(MODEL, job_id)).status == "IN_QUEUE"
    assert await provider.cancel(MODEL, job_id) is True
    clock.now += 10  # long past its due time
    for state in (await provider.status(MODEL, job_id), await provider.wait(MODEL, job_id, 1)):
        assert (state.status, state.error, state.images) == ("FAILED", CANCELLED, ())
    assert await provider.cancel(MODEL, job_id) is False  # already settled
    await provider.aclose()


async def test_running_job_cancelled(provider: LocalProvider, clock: Clock) -> None:
    job_id = await _job(provider)
    clock.now += 1.5
    assert (await provider.status(MODEL, job_id)).status == "IN_PROGRESS"
    assert await provider.cancel(MODEL, job_id) is True
    clock.now += 10
    state = await provider.status(MODEL, job_id)
    assert (state.status, state.error) == ("FAILED", CANCELLED)
    await provider.aclose()


async def test_cancel_during_render_wins_over_its_completion(
    provider: LocalProvider, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = await _job(provider)
    clock.now += 10
    rendering, release = asyncio.Event(), asyncio.Event()
    real_render = provider._render_all

    async def slow_render(*args: Any) -> list[tuple[bytes, str]]:
        rendering.set()
        await release.wait()
        return await real_render(*args)

    monkeypatch.setattr(provider, "_render_all", slow_render)
    status = asyncio.create_task(provider.status(MODEL, job_id))
    await rendering.wait()
    assert await provider.cancel(MODEL, job_id) is True
    release.set()
    state = await status
    assert (state.status, state.error, state.images) == ("FAILED", CANCELLED, ())
    row = provider.jobs.get(job_id)
    assert row is not None and (row.state, row.error) == ("failed", CANCELLED)
    await provider.aclose()


async def test_finished_or_unknown_job_is_not_cancelled(
    provider: LocalProvider, clock: Clock
) -> None:
    job_id = await _job(provider)
    clock.now += 10
    assert (await provider.status(MODEL, job_id)).status == "COMPLETED"
    assert await provider.cancel(MODEL, job_id) is False
    assert (await provider.status(MODEL, job_id)).status == "COMPLETED"
    assert await provider.cancel(MODEL, "no-such-job") is False
    await provider.aclose()
