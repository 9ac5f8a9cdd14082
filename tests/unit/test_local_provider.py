"""The local provider over a real SQLite queue and the real local object store."""

from __future__ import annotations

import asyncio
import io
import random
from pathlib import Path

import pytest
from PIL import Image

from backend.providers.base import ProviderError, ProviderRequest
from backend.providers.local import LocalProvider
from backend.providers.local_queue import LEASE_S, STALE_RENDER_S, JobQueue
from backend.store.base import new_key
from backend.store.local import LocalObjectStore
from catalog import MODELS
from catalog.sizes import output_size

BASE_URL = "http://127.0.0.1:8765"
SECRET = b"local-provider-tests-secret-0123"


class FakeClock:
    """Wall clock stand-in: tests move time explicitly instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "files", BASE_URL, SECRET)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_provider(
    store: LocalObjectStore, queue_db: str, clock: FakeClock | None = None, **kw: object
) -> LocalProvider:
    args: dict[str, object] = {"queue_s": 0.2, "run_s": 0.2}
    args.update(kw)
    if clock is not None:
        args["clock"] = clock
    return LocalProvider(store, queue_db, **args)  # type: ignore[arg-type]


def request(model_id: str, prompt: str = "a quiet harbour", **kw: object) -> ProviderRequest:
    model = MODELS[model_id]
    fields: dict[str, object] = {
        "prompt": prompt,
        "model": model,
        "aspect_ratio": model.default_aspect_ratio or "1:1",
        "num_images": 1,
        "resolution": model.default_resolution,
        "quality": model.default_quality,
    }
    fields.update(kw)
    return ProviderRequest(**fields)  # type: ignore[arg-type]


async def put_png(store: LocalObjectStore, colour: tuple[int, int, int]) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (120, 90), colour).save(buf, "PNG")
    return await store.put(new_key("uploads", "image/png"), buf.getvalue(), "image/png")


def stored_generations(store: LocalObjectStore) -> list[Path]:
    return [p for p in (store.root / "generations").rglob("*") if p.is_file()]


def has_red(img: Image.Image) -> bool:
    small = img.convert("RGB").resize((128, 128), Image.Resampling.NEAREST)
    return any(r > 220 and g < 40 and b < 40 for _, (r, g, b) in small.getcolors(1 << 16) or [])


# -- sync models ------------------------------------------------------------------------


async def test_sync_model_answers_with_image_bytes_at_the_exact_size(
    store: LocalObjectStore, queue_db: str
) -> None:
    provider = make_provider(store, queue_db)
    result = await provider.submit(
        request("img-imagen4-preview", aspect_ratio="16:9", num_images=3)
    )
    assert not result.queued
    assert len(result.images) == 3
    for image in result.images:
        assert image.data is not None and image.url is None
        img = Image.open(io.BytesIO(image.data))
        assert img.size == (1408, 768)
        assert image.content_type == "image/png"


async def test_sync_edit_model_composes_the_attachment_from_the_store(
    store: LocalObjectStore, queue_db: str
) -> None:
    provider = make_provider(store, queue_db)
    url = await put_png(store, (255, 0, 0))
    result = await provider.submit(request("img-flux-kontext-pro", attachment_urls=(url,)))
    assert result.images[0].data is not None
    assert has_red(Image.open(io.BytesIO(result.images[0].data)))


@pytest.mark.parametrize(
    "url", [f"{BASE_URL}/files/uploads/2026/01/01/{'0' * 32}.png", "https://evil.example/x.png"]
)
async def test_missing_or_foreign_attachment_is_a_clear_error(
    store: LocalObjectStore, queue_db: str, url: str
) -> None:
    provider = make_provider(store, queue_db)
    with pytest.raises(ProviderError) as info:
        await provider.submit(request("img-reve-edit", attachment_urls=(url,)))
    assert info.value.code == "attachment_not_found"
    assert info.value.status == 400


async def test_fail_prompt_on_a_sync_model_raises(store: LocalObjectStore, queue_db: str) -> None:
    provider = make_provider(store, queue_db)
    with pytest.raises(ProviderError) as info:
        await provider.submit(request("img-reve", prompt="a cat [FAIL] please"))
    assert info.value.code == "provider_failed"
    assert info.value.message.startswith("The provider could not generate this image:")


# -- queued models ----------------------------------------------------------------------


async def test_queued_lifecycle_positions_progress_completion(
    store: LocalObjectStore, queue_db: str, clock: FakeClock
) -> None:
    provider = make_provider(store, queue_db, clock)
    model = MODELS["img-nano-banana-pro"]
    ids = []
    for _ in range(3):
        res = await provider.submit(
            request(model.id, aspect_ratio="16:9", resolution="2K", num_images=2)
        )
        assert res.queued and res.job_id
        ids.append(res.job_id)
        clock.advance(0.05)
    # t = 0.15: all three queued, in submission order.
    states = [await provider.status(model, j) for j in ids]
    assert [(s.status, s.position) for s in states] == [
        ("IN_QUEUE", 1),
        ("IN_QUEUE", 2),
        ("IN_QUEUE", 3),
    ]
    clock.advance(0.1)  # t = 0.25: the first has left the queue, the others moved up
    states = [await provider.status(model, j) for j in ids]
    assert [(s.status, s.position) for s in states] == [
        ("IN_PROGRESS", None),
        ("IN_QUEUE", 1),
        ("IN_QUEUE", 2),
    ]
    assert stored_generations(store) == []  # nothing renders before a job is due
    clock.advance(1.0)
    done = await provider.status(model, ids[0])
    assert done.status == "COMPLETED"
    assert len(done.images) == 2
    for image in done.images:
        assert image.url and image.data is None
        key = store.key_for_url(image.url)
        assert key is not None and key.startswith("generations/")
        img = Image.open(io.BytesIO(await store.get(key)))
        assert img.size == output_size(model.id, "16:9", "2K") == (2752, 1536)
    again = await provider.status(model, ids[0])
    assert again.images == done.images  # answered from the row, not rendered again
    assert len(stored_generations(store)) == 2


async def test_a_queued_job_survives_recreating_the_provider(
    store: LocalObjectStore, queue_db: str, clock: FakeClock
) -> None:
    first = make_provider(store, queue_db, clock)
    model = MODELS["img-seedream-v4"]
    job_id = (await first.submit(request(model.id))).job_id
    assert job_id is not None
    del first  # "restart": nothing kept in memory
    clock.advance(0.1)
    second = make_provider(store, queue_db, clock)
    assert (await second.status(model, job_id)).status == "IN_QUEUE"
    clock.advance(1.0)
    done = await second.status(model, job_id)
    assert done.status == "COMPLETED"
    third = make_provider(store, queue_db, clock)
    assert (await third.status(model, job_id)).images == done.images


async def test_a_restart_on_another_port_keeps_attachments_and_results_reachable(
    store: LocalObjectStore, queue_db: str, clock: FakeClock
) -> None:
    # The embedded backend picks a free port each start, so every URL changes.
    model = MODELS["img-nano-banana-edit"]
    url = await put_png(store, (255, 0, 0))
    first = make_provider(store, queue_db, clock)
    job_id = (await first.submit(request(model.id, attachment_urls=(url,)))).job_id
    assert job_id is not None
    store.base_url = "http://127.0.0.1:9999"
    clock.advance(1.0)
    done = await make_provider(store, queue_db, clock).status(model, job_id)
    assert done.status == "COMPLETED", done.error
    image_url = done.images[0].url
    assert image_url and image_url.startswith("http://127.0.0.1:9999/files/generations/")
    key = store.key_for_url(image_url)
    assert key is not None
    assert has_red(Image.open(io.BytesIO(await store.get(key))))
    store.base_url = "http://127.0.0.1:7777"
    again = await make_provider(store, queue_db, clock).status(model, job_id)
    assert again.images[0].url == f"http://127.0.0.1:7777/files/{key}"


async def test_queued_edit_model_renders_the_attachment(
    store: LocalObjectStore, queue_db: str, clock: FakeClock
) -> None:
    provider = make_provider(store, queue_db, clock)
    url = await put_png(store, (255, 0, 0))
    model = MODELS["img-gpt-image-1-5-edit"]
    job_id = (
        await provider.submit(request(model.id, aspect_ratio="3:4", attachment_urls=(url,)))
    ).job_id
    assert job_id is not None
    clock.advance(1.0)
    done = await provider.status(model, job_id)
    assert done.status == "COMPLETED" and done.images[0].url
    key = store.key_for_url(done.images[0].url)
    assert key is not None
    img = Image.open(io.BytesIO(await store.get(key)))
    assert img.size == (1024, 1536)
    assert has_red(img)


async def test_fail_prompt_on_a_queued_model_fails_when_due(
    store: LocalObjectStore, queue_db: str, clock: FakeClock
) -> None:
    provider = make_provider(store, queue_db, clock, fail_prompts=("[fail]", "explode"))
    model = MODELS["img-imagen3"]
    job_id = (await provider.submit(request(model.id, prompt="please EXPLODE"))).job_id
    assert job_id is not None
    assert (await provider.status(model, job_id)).status == "IN_QUEUE"  # fails only when due
    clock.advance(1.0)
    state = await provider.status(model, job_id)
    assert state.status == "FAILED"
    assert state.error and "could not generate" in state.error
    assert not (store.root / "generations").exists()  # a failed job renders nothing


async def test_fail_rate_is_decided_at_submission(
    store: LocalObjectStore, queue_db: str, clock: FakeClock
) -> None:
    always = make_provider(store, queue_db, clock, fail_rate=1.0)
    never = make_provider(store, queue_db, clock, fail_rate=0.0)
    model = MODELS["img-nano-banana"]
    bad = (await always.submit(request(model.id))).job_id
    good = (await never.submit(request(model.id))).job_id
    assert bad and good
    with pytest.raises(ProviderError):
        await always.submit(request("img-hunyuan-v3"))  # sync models too
    clock.advance(1.0)
    # Whichever provider instance answers, the outcome was fixed in the row.
    assert (await never.status(model, bad)).status == "FAILED"
    assert (await always.status(model, good)).status == "COMPLETED"


async def test_a_seeded_fail_rate_fails_some_jobs(store: LocalObjectStore, queue_db: str) -> None:
    provider = make_provider(store, queue_db, fail_rate=0.5, rng=random.Random(7))
    outcomes = []
    for _ in range(20):
        try:
            await provider.submit(request("img-wan-v22-a14b"))
            outcomes.append(True)
        except ProviderError:
            outcomes.append(False)
    assert 0 < outcomes.count(False) < 20


async def test_unknown_job_is_a_404(store: LocalObjectStore, queue_db: str) -> None:
    provider = make_provider(store, queue_db)
    with pytest.raises(ProviderError) as info:
        await provider.status(MODELS["img-nano-banana"], "0" * 32)
    assert (info.value.code, info.value.status) == ("job_not_found", 404)
    assert info.value.message == "This job was not found."


async def test_concurrent_status_calls_render_once(
    store: LocalObjectStore, queue_db: str, clock: FakeClock
) -> None:
    provider = make_provider(store, queue_db, clock)
    model = MODELS["img-flux-2-max"]
    job_id = (await provider.submit(request(model.id, num_images=2))).job_id
    assert job_id is not None
    clock.advance(1.0)
    states = await asyncio.gather(*(provider.status(model, job_id) for _ in range(8)))
    # Every caller waits for the one render and sees its result.
    assert [s.status for s in states] == ["COMPLETED"] * 8
    assert {s.images for s in states} == {states[0].images}
    assert len(stored_generations(store)) == 2  # two images, rendered exactly once
    assert all(i.content_type == "image/jpeg" for i in states[0].images)


async def test_two_instances_on_one_db_render_once(
    store: LocalObjectStore, queue_db: str, clock: FakeClock
) -> None:
    one = make_provider(store, queue_db, clock)
    two = make_provider(store, queue_db, clock)  # like a second backend process
    model = MODELS["img-nano-banana"]
    job_id = (await one.submit(request(model.id, num_images=3))).job_id
    assert job_id is not None
    clock.advance(1.0)
    states = await asyncio.gather(one.status(model, job_id), two.status(model, job_id))
    assert "COMPLETED" in {s.status for s in states}
    assert {s.status for s in states} <= {"COMPLETED", "IN_PROGRESS"}
    assert len(stored_generations(store)) == 3
    later = [await p.status(model, job_id) for p in (one, two)]
    assert later[0].images == later[1].images and len(later[0].images) == 3


def test_only_one_renderer_can_claim_a_job_until_its_lease_lapses(
    queue_db: str, clock: FakeClock
) -> None:
    a = JobQueue(queue_db, clock)
    b = JobQueue(queue_db, clock)  # e.g. a second backend process
    job = a.create("img-nano-banana", {"prompt": "x"}, queue_s=0, run_s=0, fail_reason=None)
    assert a.claim_render(job.id) is True
    a.close()  # no background renewals: the test renews by hand with beat()
    assert b.claim_render(job.id) is False
    clock.advance(LEASE_S - 1)
    assert a.beat() is True  # the owner is alive and renews its lease
    clock.advance(LEASE_S - 1)
    assert b.claim_render(job.id) is False  # renewed LEASE_S - 1 ago: still owned
    clock.advance(2)  # a stopped renewing (froze or vanished): the lease lapses
    assert b.claim_render(job.id) is True
    b.release(job.id)
    assert a.claim_render(job.id) is True
    a.complete(job.id, [{"url": "u", "content_type": "image/png"}])
    assert b.claim_render(job.id) is False
    done = b.get(job.id)
    assert done is not None and done.state == "completed" and done.result[0]["url"] == "u"
    b.close()


def test_a_renewed_claim_is_still_taken_after_stale_render_s(
    queue_db: str, clock: FakeClock
) -> None:
    a = JobQueue(queue_db, clock)
    b = JobQueue(queue_db, clock)
    job = a.create("img-nano-banana", {"prompt": "x"}, queue_s=0, run_s=0, fail_reason=None)
    assert a.claim_render(job.id) is True
    a.close()
    while clock.now < job.created_at + STALE_RENDER_S - LEASE_S:
        clock.advance(LEASE_S / 2)
        a.beat()  # alive and renewing, but its render never ends
        assert b.claim_render(job.id) is False
    clock.advance(2 * LEASE_S)
    a.beat()
    assert b.claim_render(job.id) is True
    b.close()


async def test_wait_returns_promptly_when_the_job_finishes(
    store: LocalObjectStore, queue_db: str
) -> None:
    provider = make_provider(store, queue_db, queue_s=0.2, run_s=0.2)
    model = MODELS["img-nano-banana"]
    job_id = (await provider.submit(request(model.id))).job_id
    assert job_id is not None
    reads: list[str] = []
    read_job = provider.jobs.get

    def counted_get(job: str) -> object:
        reads.append(job)
        return read_job(job)

    provider.jobs.get = counted_get  # type: ignore[method-assign]
    state = await provider.wait(model, job_id, timeout_s=10.0)
    assert state.status == "COMPLETED"
    # It sleeps straight to the due time (0.4 s) and reads the row again then: a handful
    # of reads, where polling every 50 ms would read it eight times or more. (Counted,
    # not timed: the machine may be loaded.)
    assert 1 <= len(reads) <= 4, reads


async def test_wait_gives_up_at_the_timeout(store: LocalObjectStore, queue_db: str) -> None:
    provider = make_provider(store, queue_db, queue_s=30.0, run_s=30.0)
    model = MODELS["img-nano-banana"]
    job_id = (await provider.submit(request(model.id))).job_id
    assert job_id is not None
    state = await provider.wait(model, job_id, timeout_s=0.05)
    assert (state.status, state.position) == ("IN_QUEUE", 1)
