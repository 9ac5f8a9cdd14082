"""FalProvider's answer paths: queue -> progress -> result, failed jobs, mapped errors.

respx stands in for queue.fal.run; fal-client runs for real. The exact request of every Fal
model is pinned in test_provider_fal.py.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import respx

from backend.providers.base import ProviderError, ProviderRequest
from backend.providers.fal import FalProvider
from catalog import get_model
from tests.unit.fal_support import KEY, OUT_URL, QUEUE, app_base, queued_answer
from tests.unit.fal_support import req as fal_req


def req(model_id: str, *, n: int = 1, urls: int = 0) -> ProviderRequest:
    return fal_req(model_id, ratio="1:1", n=n, urls=urls)


# (model id, request, endpoint, exact JSON body) for all 20 Fal models.


def _status_route(mock: respx.MockRouter, endpoint: str, rid: str) -> respx.Route:
    return mock.get(f"{app_base(endpoint)}/requests/{rid}/status")


async def test_queued_job_goes_through_queue_progress_and_result() -> None:
    provider = FalProvider(KEY, poll_interval_s=0.01)
    model = get_model("img-seedream-v4")
    assert model is not None
    endpoint = model.endpoint
    with respx.mock() as mock:
        status = _status_route(mock, endpoint, "job-9").mock(
            side_effect=[
                httpx.Response(200, json={"status": "IN_QUEUE", "queue_position": 3}),
                httpx.Response(
                    200,
                    json={"status": "IN_PROGRESS", "logs": [{"message": "step 1/28"}]},
                ),
                httpx.Response(200, json={"status": "COMPLETED", "logs": [], "metrics": {}}),
            ]
        )
        result = mock.get(f"{app_base(endpoint)}/requests/job-9").mock(
            return_value=httpx.Response(
                200, json={"images": [{"url": OUT_URL, "content_type": "image/png"}]}
            )
        )
        first = await provider.status(model, "job-9")
        second = await provider.status(model, "job-9")
        third = await provider.status(model, "job-9")
    assert (first.status, first.position) == ("IN_QUEUE", 3)
    assert (second.status, second.logs) == ("IN_PROGRESS", ("step 1/28",))
    assert third.status == "COMPLETED" and [i.url for i in third.images] == [OUT_URL]
    assert result.call_count == 1
    assert status.calls.last.request.url.params["logs"] == "true"
    assert status.calls.last.request.headers["Authorization"] == f"Key {KEY}"
    # fal's queue addresses requests by app (owner/alias), not by the full endpoint path.
    assert str(status.calls.last.request.url).startswith(
        "https://queue.fal.run/fal-ai/bytedance/requests/job-9/status"
    )


async def test_wait_polls_until_completed() -> None:
    provider = FalProvider(KEY, poll_interval_s=0.001)
    model = get_model("img-flux-2-max")
    assert model is not None
    with respx.mock() as mock:
        _status_route(mock, model.endpoint, "w1").mock(
            side_effect=[
                httpx.Response(200, json={"status": "IN_QUEUE", "queue_position": 1}),
                httpx.Response(200, json={"status": "IN_PROGRESS", "logs": []}),
                httpx.Response(200, json={"status": "COMPLETED", "logs": []}),
            ]
        )
        mock.get(f"{app_base(model.endpoint)}/requests/w1").mock(
            return_value=httpx.Response(200, json={"images": [{"url": OUT_URL}]})
        )
        state = await provider.wait(model, "w1", timeout_s=30)
    assert state.status == "COMPLETED"


async def test_wait_returns_last_state_at_timeout() -> None:
    provider = FalProvider(KEY, poll_interval_s=0.001)
    model = get_model("img-flux-2-max")
    assert model is not None
    with respx.mock() as mock:
        _status_route(mock, model.endpoint, "w2").mock(
            return_value=httpx.Response(200, json={"status": "IN_QUEUE", "queue_position": 7})
        )
        state = await provider.wait(model, "w2", timeout_s=0)
    assert (state.status, state.position) == ("IN_QUEUE", 7)


async def test_completed_with_error_is_a_failed_job() -> None:
    provider = FalProvider(KEY)
    model = get_model("img-nano-banana")
    assert model is not None
    with respx.mock() as mock:
        _status_route(mock, model.endpoint, "f1").mock(
            return_value=httpx.Response(
                200,
                json={
                    "status": "COMPLETED",
                    "logs": [],
                    "error": "Image generation failed: upstream model crashed",
                    "error_type": "internal_error",
                },
            )
        )
        state = await provider.status(model, "f1")
    assert state.status == "FAILED"
    assert state.error == (
        "The provider could not generate this image: "
        "Image generation failed: upstream model crashed."
    )


async def test_failed_result_with_content_policy_is_a_failed_job() -> None:
    provider = FalProvider(KEY)
    model = get_model("img-nano-banana")
    assert model is not None
    detail = [{"loc": ["body", "prompt"], "msg": "flagged", "type": "content_policy_violation"}]
    with respx.mock() as mock:
        _status_route(mock, model.endpoint, "f2").mock(
            return_value=httpx.Response(200, json={"status": "COMPLETED", "logs": []})
        )
        mock.get(f"{app_base(model.endpoint)}/requests/f2").mock(
            return_value=httpx.Response(422, json={"detail": detail})
        )
        state = await provider.status(model, "f2")
    assert state.status == "FAILED"
    assert state.error == "The provider refused this prompt under its content policy."


@pytest.fixture
def no_fal_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # fal-client retries transport errors 10 times with backoff; one attempt keeps tests fast.
    import fal_client.client

    monkeypatch.setattr(fal_client.client, "MAX_ATTEMPTS", 1)


@pytest.mark.parametrize(
    ("answer", "message", "code"),
    [
        (
            httpx.Response(
                422,
                json={"detail": [{"loc": ["body", "aspect_ratio"], "msg": "unexpected value"}]},
            ),
            "The provider rejected the request: aspect_ratio: unexpected value.",
            "provider_rejected",
        ),
        (
            httpx.Response(422, json={"detail": "Prompt flagged by content checker"}),
            "The provider refused this prompt under its content policy.",
            "content_policy",
        ),
        (
            httpx.Response(500, json={"detail": "Internal error"}),
            "The provider is unavailable right now. Please try again.",
            "provider_unavailable",
        ),
        (
            httpx.Response(401, json={"detail": "No user found for Key ID and Secret"}),
            "The provider did not accept the server's credentials. "
            "Please tell the server's operator.",
            "provider_auth",
        ),
        (
            httpx.ConnectError("connection refused"),
            "The provider is unavailable right now. Please try again.",
            "provider_unavailable",
        ),
        (
            # Sent, answer lost: never sent a second time (see test_provider_fal_protocol.py).
            httpx.ReadTimeout("read timed out"),
            "The provider did not confirm the request, so it was not sent again "
            "(that could start a second, billed job). Please try again.",
            "provider_submit_unknown",
        ),
    ],
    ids=["422", "policy", "500", "401", "connect", "timeout"],
)
async def test_submit_errors_are_mapped(
    no_fal_retries: None, answer: Any, message: str, code: str
) -> None:
    provider = FalProvider(KEY)
    with respx.mock(assert_all_called=False) as mock:
        for host in ("queue.fal.run", "queue.falrun.com"):  # fal-client's backup domain too
            route = mock.post(f"https://{host}/fal-ai/gemini-25-flash-image")
            if isinstance(answer, Exception):
                route.mock(side_effect=answer)
            else:
                route.mock(return_value=answer)
        with pytest.raises(ProviderError) as info:
            await provider.submit(req("img-nano-banana"))
    assert info.value.message == message
    assert info.value.code == code


async def test_sync_model_timeout_is_mapped_and_cancelled() -> None:
    provider = FalProvider(KEY, poll_interval_s=0.005, sync_timeout_s=0.05)
    endpoint = "fal-ai/reve/text-to-image"
    base = f"{app_base(endpoint)}/requests/slow"
    with respx.mock() as mock:
        mock.post(f"{QUEUE}/{endpoint}").mock(return_value=queued_answer(endpoint, "slow"))
        mock.get(f"{base}/status").mock(
            return_value=httpx.Response(200, json={"status": "IN_PROGRESS", "logs": []})
        )
        cancel = mock.put(f"{base}/cancel").mock(return_value=httpx.Response(202))
        with pytest.raises(ProviderError) as info:
            await provider.submit(req("img-reve"))
    assert info.value.message == "The provider took too long to answer."
    assert cancel.call_count == 1


async def test_key_and_signed_urls_never_leak(caplog: pytest.LogCaptureFixture) -> None:
    provider = FalProvider(KEY)
    assert KEY not in repr(provider)
    leak = (
        f"Bad header Authorization: Key {KEY}; could not fetch "
        "https://bucket.r2.test/u/1.png?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA"
    )
    caplog.set_level(logging.DEBUG)
    with respx.mock() as mock:
        mock.post(f"{QUEUE}/fal-ai/gemini-25-flash-image/edit").mock(
            return_value=httpx.Response(422, json={"detail": leak})
        )
        with pytest.raises(ProviderError) as info:
            await provider.submit(req("img-nano-banana-edit", urls=1))
    message = info.value.message
    assert message.startswith("The provider rejected the request: ")
    for secret in (KEY, "secret456", "X-Amz-Signature", "deadbeef", "AKIA"):
        assert secret not in message
        assert secret not in caplog.text
    assert "[link]" in message
