"""LocalProvider with the server's process pool: renders in workers (queued jobs with their
variants), a long poll answers by its deadline, a worker crash fails the job with a
sentence, and a cancelled job's render is never delivered. Real worker processes, real
SQLite / PostgreSQL (``queue_db``), a real local object store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.image_work_pool import ImageWorkPool
from backend.providers.base import ProviderError, ProviderRequest
from backend.providers.local import LocalProvider
from backend.providers.local_queue import CANCELLED
from backend.store.local import LocalObjectStore
from catalog import MODELS
from catalog.image_variants import VARIANT_EDGES, variant_key
from tests.unit import image_pool_jobs as jobs

QUEUED = MODELS["img-nano-banana"]
SYNC = MODELS["img-imagen4-preview"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def pool() -> AsyncIterator[ImageWorkPool]:
    pool = ImageWorkPool(workers=1)
    yield pool
    await pool.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(
        tmp_path / "files", "http://127.0.0.1:8765", b"pool-tests-secret-0123456789abcd"
    )


@pytest.fixture
async def provider(
    store: LocalObjectStore, queue_db: str, clock: Clock, pool: ImageWorkPool
) -> AsyncIterator[LocalProvider]:
    provider = LocalProvider(store, queue_db, queue_s=1.0, run_s=1.0, clock=clock, image_work=pool)
    yield provider
    await provider.aclose()


def stored(store: LocalObjectStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file())


async def submit(provider: LocalProvider, prompt: str = "a harbour") -> str:
    request = ProviderRequest(prompt=prompt, model=QUEUED, aspect_ratio="1:1", num_images=1)
    job_id = (await provider.submit(request)).job_id
    assert job_id is not None
    return job_id


async def test_a_queued_job_renders_in_a_worker_with_its_variants(
    provider: LocalProvider, store: LocalObjectStore, clock: Clock, pool: ImageWorkPool
) -> None:
    job_id = await submit(provider)
    clock.now += 10
    state = await provider.wait(QUEUED, job_id, 30)
    assert state.status == "COMPLETED" and len(state.images) == 1
    assert pool.started
    key = store.key_for_url(state.images[0].url or "")
    assert key is not None
    for edge in VARIANT_EDGES:
        vkey = variant_key(key, edge)
        assert vkey is not None and (await store.size(vkey) or 0) > 0


async def test_a_sync_render_comes_back_as_bytes(provider: LocalProvider) -> None:
    request = ProviderRequest(prompt="a kite", model=SYNC, aspect_ratio="1:1", num_images=2)
    result = await provider.submit(request)
    assert len(result.images) == 2
    assert all((image.data or b"")[:4] == b"\x89PNG" for image in result.images)


async def test_a_worker_crash_fails_a_queued_job_with_a_sentence(
    provider: LocalProvider, store: LocalObjectStore, clock: Clock
) -> None:
    provider.render_in_worker = jobs.crash_render
    job_id = await submit(provider)
    clock.now += 10
    state = await provider.wait(QUEUED, job_id, 30)
    assert state.status == "FAILED"
    assert state.error is not None and "worker process stopped unexpectedly" in state.error
    row = provider.jobs.get(job_id)
    assert row is not None and row.state == "failed"
    assert stored(store) == []


async def test_a_worker_crash_fails_a_sync_call_with_a_provider_error(
    provider: LocalProvider,
) -> None:
    provider.render_in_worker = jobs.crash_render
    request = ProviderRequest(prompt="a kite", model=SYNC, aspect_ratio="1:1", num_images=1)
    with pytest.raises(ProviderError) as caught:
        await provider.submit(request)
    assert "worker process stopped unexpectedly" in caught.value.message
    provider.render_in_worker = LocalProvider.render_in_worker
    assert len((await provider.submit(request)).images) == 1  # the pool recovered


async def test_a_long_poll_answers_by_its_deadline_while_the_render_waits(
    provider: LocalProvider, clock: Clock, pool: ImageWorkPool, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    blocker = asyncio.ensure_future(pool.run(jobs.wait_for_gate, str(gate)))
    job_id = await submit(provider)
    clock.now += 10
    state = await provider.wait(QUEUED, job_id, 0.3)
    assert state.status == "IN_PROGRESS"  # the poll did not hold on to the render
    gate.write_text("open")
    await blocker
    assert (await provider.wait(QUEUED, job_id, 30)).status == "COMPLETED"


async def test_a_job_cancelled_while_waiting_for_a_worker_is_never_rendered(
    provider: LocalProvider,
    store: LocalObjectStore,
    clock: Clock,
    pool: ImageWorkPool,
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    blocker = asyncio.ensure_future(pool.run(jobs.wait_for_gate, str(gate)))
    provider.render_in_worker = jobs.crash_render  # were it rendered, the test would see it
    job_id = await submit(provider)
    clock.now += 10
    assert (await provider.wait(QUEUED, job_id, 0.2)).status == "IN_PROGRESS"
    assert await provider.cancel(QUEUED, job_id) is True
    gate.write_text("open")
    await blocker
    state = await provider.wait(QUEUED, job_id, 30)
    assert (state.status, state.error, state.images) == ("FAILED", CANCELLED, ())
    assert stored(store) == []


async def test_a_job_cancelled_mid_render_in_a_worker_is_not_delivered(
    provider: LocalProvider, store: LocalObjectStore, clock: Clock, tmp_path: Path
) -> None:
    prompt = str(tmp_path / "render")  # gated_render waits for "<prompt>.open"
    provider.render_in_worker = jobs.gated_render
    job_id = await submit(provider, prompt=prompt)
    clock.now += 10
    assert (await provider.wait(QUEUED, job_id, 0.5)).status == "IN_PROGRESS"
    assert await provider.cancel(QUEUED, job_id) is True
    (tmp_path / "render.open").write_text("open")
    render = provider._renders.get(job_id)
    if render is not None:
        await render
    state = await provider.wait(QUEUED, job_id, 30)
    assert (state.status, state.error, state.images) == ("FAILED", CANCELLED, ())
    row = provider.jobs.get(job_id)
    assert row is not None and (row.state, row.error) == ("failed", CANCELLED)
    assert not row.result
