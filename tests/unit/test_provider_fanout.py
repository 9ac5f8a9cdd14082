"""FanOutProvider around the real FalProvider: one call per image where Fal answers one.

respx stands in for queue.fal.run (fal-client runs for real). Flux 2 Max (queued) and Wan 2.2
(sync) take no ``num_images``: asking for N makes N Fal requests; a queued model answers one
composite job id whose status aggregates its sub-jobs; partial failures deliver the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx

from backend.providers.base import JobState, ProviderError
from backend.providers.fal import FalProvider
from backend.providers.fanout import (
    FanOutProvider,
    aggregate,
    call_plan,
    decode_job_ids,
    encode_job_ids,
)
from catalog import ModelSpec, get_model
from tests.unit.fal_support import KEY, QUEUE, app_base, queued_answer, req

FLUX = "img-flux-2-max"
WAN = "img-wan-v22-a14b"
POLICY = [{"loc": ["body", "prompt"], "msg": "flagged", "type": "content_policy_violation"}]


def spec(model_id: str) -> ModelSpec:
    model = get_model(model_id)
    assert model is not None
    return model


def out(rid: str) -> str:
    return f"https://v3.fal.media/files/out/{rid}.png"


@dataclass
class FakeQueue:
    """Fal's queue for one endpoint: submits get ids q0, q1, ...; answers per id."""

    endpoint: str
    submit_fail: set[int] = field(default_factory=set)  # submit numbers answered 422
    status: dict[str, dict[str, Any]] = field(default_factory=dict)  # default COMPLETED
    result: dict[str, httpx.Response] = field(default_factory=dict)  # default one image
    cancel_answer: dict[str, httpx.Response] = field(default_factory=dict)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    @contextmanager
    def serving(self) -> Iterator[respx.MockRouter]:
        """respx answering as this queue for the block."""
        with respx.mock(assert_all_called=False) as mock:
            self.install(mock)
            yield mock

    def install(self, mock: respx.MockRouter) -> None:
        base = re.escape(f"{app_base(self.endpoint)}/requests/")
        mock.post(f"{QUEUE}/{self.endpoint}").mock(side_effect=self._submit)
        mock.get(url__regex=base + r"(?P<rid>[^/]+)/status").mock(side_effect=self._status)
        mock.put(url__regex=base + r"(?P<rid>[^/]+)/cancel").mock(side_effect=self._cancel)
        mock.get(url__regex=base + r"(?P<rid>[^/]+)$").mock(side_effect=self._result)

    def _submit(self, request: httpx.Request) -> httpx.Response:
        number = len(self.bodies)
        self.bodies.append(json.loads(request.content))
        if number in self.submit_fail:
            return httpx.Response(422, json={"detail": POLICY})
        return queued_answer(self.endpoint, f"q{number}")

    def _status(self, request: httpx.Request, rid: str) -> httpx.Response:
        return httpx.Response(200, json=self.status.get(rid, {"status": "COMPLETED", "logs": []}))

    def _result(self, request: httpx.Request, rid: str) -> httpx.Response:
        default = {"images": [{"url": out(rid)}], "seed": 1}
        if self.endpoint.startswith("fal-ai/wan/"):
            default = {"image": {"url": out(rid)}, "seed": 1}  # Wan answers one `image`
        return self.result.get(rid, httpx.Response(200, json=default))

    def _cancel(self, request: httpx.Request, rid: str) -> httpx.Response:
        self.cancelled.append(rid)
        return self.cancel_answer.get(
            rid, httpx.Response(202, json={"status": "CANCELLATION_REQUESTED"})
        )


@pytest.fixture
def provider() -> Iterator[FanOutProvider]:
    yield FanOutProvider(FalProvider(KEY, poll_interval_s=0.001), poll_interval_s=0.001)


@pytest.fixture
def fal_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    """FalProvider.cancel, where fal.py does not have it yet: fal-client's PUT .../cancel."""
    if hasattr(FalProvider, "cancel"):
        return

    async def cancel(self: FalProvider, model: ModelSpec, job_id: str) -> bool:
        await self._client().cancel(model.endpoint, job_id)
        return True

    monkeypatch.setattr(FalProvider, "cancel", cancel, raising=False)


# --- the plan and the composite id ---------------------------------------------------------


def test_one_image_endpoints_get_one_call_per_image() -> None:
    assert call_plan(spec(FLUX), 4) == [1, 1, 1, 1]
    assert call_plan(spec("img-flux-2-max-edit"), 2) == [1, 1]
    assert call_plan(spec(WAN), 3) == [1, 1, 1]
    assert call_plan(spec("img-nano-banana"), 4) == [4]
    assert call_plan(spec("img-seedream-v45"), 4) == [4]


def test_composite_ids_round_trip_and_stay_short() -> None:
    ids = [f"{i:08x}-1c2d-4e5f-8a9b-0c1d2e3f4a5b" for i in range(4)]
    composite = encode_job_ids(ids)
    assert decode_job_ids(composite) == ids
    assert len(composite) < 200
    assert encode_job_ids(ids[:1]) == ids[0] and decode_job_ids(ids[0]) is None
    for bad in ("[", "[]", '["a",1]', '["a",""]', '[["a"]]', json.dumps(["x"] * 17)):
        with pytest.raises(ProviderError):
            decode_job_ids(bad)


def test_aggregate_positions_progress_and_partial_success() -> None:
    queued = [JobState("IN_QUEUE", position=5), JobState("IN_QUEUE", position=2)]
    assert aggregate(queued) == JobState("IN_QUEUE", position=2)
    done = JobState("COMPLETED", images=())
    mixed = aggregate([JobState("IN_QUEUE", position=3), done])
    assert (mixed.status, mixed.position) == ("IN_QUEUE", 3)
    assert mixed.logs == ("1 of 2 generations finished.",)
    assert aggregate([JobState("IN_PROGRESS"), JobState("IN_QUEUE", position=1)]).status == (
        "IN_PROGRESS"
    )
    failed = JobState("FAILED", error="Refused.")
    assert aggregate([failed, failed]) == JobState("FAILED", error="Refused.")


# --- sync (Wan 2.2): N concurrent calls ---------------------------------------------------


async def test_sync_fan_out_delivers_every_image(provider: FanOutProvider) -> None:
    queue = FakeQueue(spec(WAN).endpoint)
    with queue.serving():
        result = await provider.submit(req(WAN, ratio="4:3", n=3))
    assert not result.queued
    assert sorted(i.url or "" for i in result.images) == [out(f"q{i}") for i in range(3)]
    # Three calls, each exactly what Wan's schema takes: no num_images, no aspect_ratio.
    assert queue.bodies == [{"prompt": "a red fox", "image_size": "landscape_4_3"}] * 3
    await provider.aclose()


async def test_sync_partial_failure_returns_the_delivered_images(
    provider: FanOutProvider,
) -> None:
    queue = FakeQueue(spec(WAN).endpoint, submit_fail={1, 3})
    with queue.serving():
        result = await provider.submit(req(WAN, n=4))
    assert len(queue.bodies) == 4
    assert len(result.images) == 2
    await provider.aclose()


async def test_sync_all_failed_raises_the_first_error(provider: FanOutProvider) -> None:
    queue = FakeQueue(spec(WAN).endpoint, submit_fail={0, 1})
    with queue.serving():
        with pytest.raises(ProviderError) as info:
            await provider.submit(req(WAN, n=2))
    assert info.value.message == "The provider refused this prompt under its content policy."
    await provider.aclose()


async def test_one_image_is_one_plain_call(provider: FanOutProvider) -> None:
    queue = FakeQueue(spec(FLUX).endpoint)
    with queue.serving():
        result = await provider.submit(req(FLUX, n=1))
    assert result.job_id == "q0" and len(queue.bodies) == 1


async def test_models_with_num_images_pass_straight_through(provider: FanOutProvider) -> None:
    queue = FakeQueue(spec("img-nano-banana").endpoint)
    with queue.serving():
        result = await provider.submit(req("img-nano-banana", ratio="1:1", n=4))
    assert result.job_id == "q0"
    assert queue.bodies == [{"prompt": "a red fox", "aspect_ratio": "1:1", "num_images": 4}]


# --- queued (Flux 2 Max): N jobs, one composite id ----------------------------------------


async def test_queued_fan_out_returns_one_composite_job(provider: FanOutProvider) -> None:
    queue = FakeQueue(spec(FLUX).endpoint)
    with queue.serving():
        result = await provider.submit(req(FLUX, ratio="16:9", n=4))
    assert result.job_id is not None
    assert sorted(decode_job_ids(result.job_id) or []) == ["q0", "q1", "q2", "q3"]
    body = {"prompt": "a red fox", "image_size": "landscape_16_9", "output_format": "jpeg"}
    assert queue.bodies == [body] * 4


async def test_queued_submit_partly_refused_keeps_the_accepted_jobs(
    provider: FanOutProvider,
) -> None:
    queue = FakeQueue(spec(FLUX).endpoint, submit_fail={0, 2})
    with queue.serving():
        result = await provider.submit(req(FLUX, n=4))
    assert sorted(decode_job_ids(result.job_id or "") or []) == ["q1", "q3"]


async def test_status_while_sub_jobs_run(provider: FanOutProvider) -> None:
    queue = FakeQueue(spec(FLUX).endpoint)
    queue.status = {
        "q0": {"status": "IN_QUEUE", "queue_position": 4},
        "q1": {"status": "IN_QUEUE", "queue_position": 2},
        "q2": {"status": "COMPLETED", "logs": []},
        "q3": {"status": "IN_QUEUE", "queue_position": 9},
    }
    job = encode_job_ids(["q0", "q1", "q2", "q3"])
    with queue.serving():
        first = await provider.status(spec(FLUX), job)
        queue.status["q1"] = {"status": "IN_PROGRESS", "logs": [{"message": "step 3/28"}]}
        second = await provider.status(spec(FLUX), job)
    assert (first.status, first.position) == ("IN_QUEUE", 2)
    assert first.logs == ("1 of 4 generations finished.",)
    assert second.status == "IN_PROGRESS"
    assert "step 3/28" in second.logs


async def test_partial_failure_completes_with_the_delivered_images(
    provider: FanOutProvider,
) -> None:
    queue = FakeQueue(spec(FLUX).endpoint)
    queue.status["q1"] = {"status": "COMPLETED", "logs": [], "error": "Model crashed"}
    queue.result["q3"] = httpx.Response(422, json={"detail": POLICY})
    job = encode_job_ids(["q0", "q1", "q2", "q3"])
    with queue.serving():
        state = await provider.status(spec(FLUX), job)
        waited = await provider.wait(spec(FLUX), job, timeout_s=5)
    assert state.status == "COMPLETED"
    assert [i.url for i in state.images] == [out("q0"), out("q2")]
    assert state.logs[-1].startswith("2 of 4 generations failed: ")
    assert waited == state


async def test_all_sub_jobs_failed_is_a_failed_job(provider: FanOutProvider) -> None:
    queue = FakeQueue(spec(FLUX).endpoint)
    for rid in ("q0", "q1"):
        queue.result[rid] = httpx.Response(422, json={"detail": POLICY})
    with queue.serving():
        state = await provider.status(spec(FLUX), encode_job_ids(["q0", "q1"]))
    assert state.status == "FAILED" and state.images == ()
    assert state.error == "The provider refused this prompt under its content policy."


async def test_a_finished_sub_job_is_not_asked_again(provider: FanOutProvider) -> None:
    queue = FakeQueue(spec(FLUX).endpoint)
    queue.status["q1"] = {"status": "IN_PROGRESS", "logs": []}
    job = encode_job_ids(["q0", "q1"])
    with queue.serving() as mock:
        await provider.status(spec(FLUX), job)
        queue.status["q1"] = {"status": "COMPLETED", "logs": []}
        state = await provider.status(spec(FLUX), job)
        asked = [str(c.request.url) for c in mock.calls]
    assert state.status == "COMPLETED" and len(state.images) == 2
    assert sum("/requests/q0/status" in u for u in asked) == 1


async def test_a_sub_job_status_error_is_raised_not_a_failure(provider: FanOutProvider) -> None:
    queue = FakeQueue(spec(FLUX).endpoint)
    queue.result["q1"] = httpx.Response(401, json={"detail": "bad key"})
    with queue.serving():
        with pytest.raises(ProviderError):
            await provider.status(spec(FLUX), encode_job_ids(["q0", "q1"]))


async def test_plain_job_ids_pass_straight_through(provider: FanOutProvider) -> None:
    queue = FakeQueue(spec(FLUX).endpoint)
    queue.status["q7"] = {"status": "IN_QUEUE", "queue_position": 1}
    with queue.serving():
        state = await provider.status(spec(FLUX), "q7")
    assert (state.status, state.position) == ("IN_QUEUE", 1)


# --- cancel ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("fal_cancel")
async def test_cancel_reaches_every_sub_job(provider: FanOutProvider) -> None:
    queue = FakeQueue(spec(FLUX).endpoint)
    with queue.serving():
        accepted = await provider.cancel(spec(FLUX), encode_job_ids(["q0", "q1", "q2", "q3"]))
    assert sorted(queue.cancelled) == ["q0", "q1", "q2", "q3"]
    assert accepted is True


@pytest.mark.usefixtures("fal_cancel")
async def test_cancel_after_one_sub_job_finished_is_not_a_full_cancel(
    provider: FanOutProvider,
) -> None:
    queue = FakeQueue(spec(FLUX).endpoint)
    queue.cancel_answer["q1"] = httpx.Response(400, json={"detail": "Request already completed"})
    with queue.serving():
        accepted = await provider.cancel(spec(FLUX), encode_job_ids(["q0", "q1", "q2"]))
    assert sorted(queue.cancelled) == ["q0", "q1", "q2"]
    # q1 will still deliver its image: the caller must not treat the job as empty.
    assert accepted is False


def test_the_wrapper_is_the_fal_provider_to_the_routes(provider: FanOutProvider) -> None:
    assert provider.name == "fal"
    assert "redacted" in repr(provider) and KEY not in repr(provider)
    assert provider._key == KEY  # anything else is the wrapped provider's
