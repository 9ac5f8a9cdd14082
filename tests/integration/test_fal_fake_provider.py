"""FalProvider through the real fal-client against the HTTPS fake of Fal (tests/fakes).

The queue protocol (queue position, progress, result), submit-once after a lost answer,
cancel at the provider, reference images uploaded to Fal storage (and refused when Fal
cannot reach them), and the fake's own schema enforcement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import fal_client
import httpx
import pytest

from backend.providers import fal as fal_module
from backend.providers.base import ProviderError, ProviderRequest
from backend.providers.fal import FalProvider
from catalog import get_model
from tests.fakes.fal_outputs import png
from tests.fakes.fal_server import FAKE_KEY, HOLD_MARKER, FakeFal, serving_fake_fal

STORE_PREFIX = "http://127.0.0.1:9/files/uploads/"


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeFal]:
    with serving_fake_fal(tmp_path_factory.mktemp("fake-fal")) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: FakeFal) -> Iterator[None]:
    yield
    fake.queue_s = fake.run_s = fake.submit_answer_delay_s = 0.0


class StubStore:
    """Just enough of the ObjectStore for reading references (loopback URLs, like ours)."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.reads = 0

    def add(self, name: str, data: bytes) -> str:
        self.blobs[f"uploads/{name}"] = data
        return STORE_PREFIX + name

    def key_for_url(self, url: str) -> str | None:
        return "uploads/" + url[len(STORE_PREFIX) :] if url.startswith(STORE_PREFIX) else None

    async def get(self, key: str) -> bytes:
        self.reads += 1
        return self.blobs[key]


def req(
    model_id: str, *, n: int = 1, prompt: str = "a red fox", urls: tuple[str, ...] = ()
) -> ProviderRequest:
    model = get_model(model_id)
    assert model is not None
    ratio = "1:1" if "1:1" in model.aspect_ratios else model.aspect_ratios[0]
    return ProviderRequest(
        prompt=prompt, model=model, aspect_ratio=ratio, num_images=n, attachment_urls=urls
    )


async def test_queued_job_reports_position_progress_and_images(fake: FakeFal) -> None:
    fake.queue_s, fake.run_s = 0.3, 0.3
    provider = FalProvider(FAKE_KEY, poll_interval_s=0.05)
    model = get_model("img-nano-banana")
    submitted = await provider.submit(req("img-nano-banana", n=3))
    assert submitted.job_id is not None
    first = await provider.status(model, submitted.job_id)
    assert (first.status, first.position) == ("IN_QUEUE", 0)
    await asyncio.sleep(0.35)
    assert (await provider.status(model, submitted.job_id)).status == "IN_PROGRESS"
    done = await provider.wait(model, submitted.job_id, timeout_s=5)
    assert done.status == "COMPLETED" and len(done.images) == 3
    await provider.aclose()


async def test_lost_submit_answer_is_an_error_not_a_second_job(
    fake: FakeFal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fal_module, "SUBMIT_TIMEOUT", httpx.Timeout(0.3))
    fake.submit_answer_delay_s = 1.0
    endpoint = "fal-ai/gpt-image-1.5"
    before = len(fake.submissions(endpoint))
    provider = FalProvider(FAKE_KEY)
    with pytest.raises(ProviderError) as info:
        await provider.submit(req("img-gpt-image-1-5", prompt="lost answer"))
    assert (info.value.code, info.value.status) == ("provider_submit_unknown", 504)
    await asyncio.sleep(0.8)
    assert len(fake.submissions(endpoint)) == before + 1  # queued once, never re-sent
    await provider.aclose()


async def test_fal_clients_own_submit_would_start_the_job_twice(
    fake: FakeFal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the POST is ours: fal-client retries a submit whose answer timed out."""
    import fal_client.client

    monkeypatch.setattr(fal_client.client, "MAX_ATTEMPTS", 2)
    fake.submit_answer_delay_s = 0.6
    endpoint = "fal-ai/imagen4/preview"
    before = len(fake.submissions(endpoint))
    client = fal_client.AsyncClient(key=FAKE_KEY, default_timeout=0.3)
    with pytest.raises(httpx.TimeoutException):
        await client.submit(endpoint, {"prompt": "retried"})
    await (await client._client).aclose()
    await asyncio.sleep(0.5)
    assert len(fake.submissions(endpoint)) == before + 2


async def test_cancel_reaches_the_fake_and_the_job_delivers_nothing(fake: FakeFal) -> None:
    provider = FalProvider(FAKE_KEY, poll_interval_s=0.05)
    model = get_model("img-seedream-v4")
    job = (await provider.submit(req("img-seedream-v4", prompt=f"slow {HOLD_MARKER}"))).job_id
    assert job is not None
    assert (await provider.status(model, job)).status == "IN_PROGRESS"
    assert await provider.cancel(model, job) is True
    assert job in fake.cancels
    after = await provider.status(model, job)
    assert after.status == "FAILED" and not after.images
    assert await provider.cancel(model, job) is False  # ALREADY_COMPLETED
    assert await provider.cancel(model, "no-such-request") is False  # NOT_FOUND
    await provider.aclose()


async def test_sync_deadline_cancels_the_job_at_fal(fake: FakeFal) -> None:
    provider = FalProvider(FAKE_KEY, poll_interval_s=0.05, sync_timeout_s=0.5)
    with pytest.raises(ProviderError) as info:
        await provider.submit(req("img-reve", prompt=f"never ends {HOLD_MARKER}"))
    assert info.value.code == "provider_timeout"
    (job,) = [
        j for j in fake.submissions("fal-ai/reve/text-to-image") if "never" in j.body["prompt"]
    ]
    assert job.id in fake.cancels
    assert float(job.headers["x-fal-request-timeout"]) == 0.5
    await provider.aclose()


async def test_loopback_references_go_to_fal_storage_once(fake: FakeFal) -> None:
    store = StubStore()
    url = store.add("ref.png", png(1))
    provider = FalProvider(FAKE_KEY, poll_interval_s=0.05, store=store)  # auto mode
    uploads = len(fake.uploads)
    model = get_model("img-nano-banana-edit")
    jobs = await asyncio.gather(
        *(provider.submit(req("img-nano-banana-edit", n=2, urls=(url,))) for _ in range(3))
    )
    assert len(fake.uploads) == uploads + 1 and store.reads == 1  # shared by all three
    for submitted in jobs:
        assert submitted.job_id is not None
        sent = fake.jobs[submitted.job_id].body["image_urls"]
        assert sent == [fake.uploads[-1]]
        state = await provider.wait(model, submitted.job_id, timeout_s=5)
        assert state.status == "COMPLETED" and len(state.images) == 2
    await provider.aclose()


async def test_unreachable_reference_is_refused_like_fal(fake: FakeFal) -> None:
    store = StubStore()
    url = store.add("ref2.png", png(2))
    provider = FalProvider(FAKE_KEY, upload_references=False, store=store)
    model = get_model("img-gpt-image-1-5-edit")
    job = (await provider.submit(req("img-gpt-image-1-5-edit", urls=(url,)))).job_id
    assert job is not None
    state = await provider.wait(model, job, timeout_s=5)
    assert state.status == "FAILED"
    assert state.error is not None and "Failed to download the file" in state.error
    await provider.aclose()


async def test_the_fake_enforces_the_endpoint_schema(fake: FakeFal) -> None:
    client = fal_client.AsyncClient(key=FAKE_KEY)
    handle = await client.submit("fal-ai/imagen4/preview", {"prompt": "ab", "num_images": 9})
    with pytest.raises(fal_client.FalClientHTTPError) as info:
        await handle.get()
    assert info.value.status_code == 422
    problems = {(tuple(p["loc"]), p["type"]) for p in info.value.response.json()["detail"]}
    assert problems == {
        (("body", "num_images"), "less_than_equal"),
        (("body", "prompt"), "string_too_short"),  # Imagen 4: prompts of 3+ characters
    }
    await (await client._client).aclose()


async def test_public_store_mode_sends_urls_as_they_are(tmp_path: Path) -> None:
    from backend.config import BackendConfig

    config = BackendConfig(
        data_dir=tmp_path,
        fal_key=FAKE_KEY,
        r2_bucket="b",
        r2_access_key_id="a",
        r2_secret_access_key="s",
        r2_endpoint_url="https://r2.test",
        r2_public_base_url="https://img.example.com",
        sync_deadline_s=100.0,
    )
    provider = FalProvider.from_config(config)
    assert config.fal_references == "public-store"
    assert provider.references.mode is False
    assert provider._sync_timeout_s == 75.0
    local = FalProvider.from_config(replace(config, r2_public_base_url=None))
    assert local.references.mode is True
