"""WavespeedProvider (Imagen 3) at the HTTP layer: request, job states, errors.

Pinned to Wavespeed's API page for google/imagen3 (``DOC``): ``POST .../google/imagen3`` with
``Authorization: Bearer`` and a JSON body of ``prompt``, ``aspect_ratio`` (1:1, 16:9, 9:16,
4:3, 3:4), ``num_images`` (1 ~ 4); the answer is ``{code, message, data: {id, status,
outputs, ...}}`` and ``GET .../predictions/{id}/result`` reports ``status`` (created,
processing, completed, failed) with ``outputs``, the list of image URLs.
"""

from __future__ import annotations

import base64
import json
import logging

import httpx
import pytest
import respx

from backend.providers.base import ProviderError, ProviderRequest
from backend.providers.differences import WAVESPEED_IMAGEN3 as DOC
from backend.providers.wavespeed import WavespeedProvider
from catalog import get_model

assert DOC == "https://wavespeed.ai/docs/docs-api/google/google-imagen3"
# The page's request parameters: `aspect_ratio` enum and `num_images` range.
DOC_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4")
DOC_NUM_IMAGES = range(1, 5)
KEY = "ws-test-key-777"
SUBMIT_URL = "https://api.wavespeed.ai/api/v3/google/imagen3"
RESULT_URL = "https://api.wavespeed.ai/api/v3/predictions/pred-1/result"
OUT = "https://d2p7pge43lyniu.cloudfront.net/output/pred-1-0.png"
MODEL = get_model("img-imagen3")
assert MODEL is not None


def req(n: int = 2, ratio: str = "4:3", prompt: str = "a tidy desk") -> ProviderRequest:
    assert MODEL is not None
    return ProviderRequest(prompt=prompt, model=MODEL, aspect_ratio=ratio, num_images=n)


def envelope(data: object, code: int = 200) -> dict[str, object]:
    return {"code": code, "message": "success", "data": data}


def job(status: str, outputs: list[str] | None = None, error: str = "") -> httpx.Response:
    data = {"id": "pred-1", "status": status, "outputs": outputs or [], "error": error}
    return httpx.Response(200, json=envelope(data))


def test_catalog_offers_only_what_the_doc_allows() -> None:
    # DOC: `aspect_ratio` 1:1, 16:9, 9:16, 4:3, 3:4; `num_images` 1 ~ 4, all in one call.
    assert MODEL is not None
    assert set(MODEL.aspect_ratios) == set(DOC_RATIOS)
    assert MODEL.max_images == max(DOC_NUM_IMAGES)
    assert MODEL.images_per_call is None  # one call answers `num_images` outputs


@pytest.mark.parametrize("ratio", DOC_RATIOS)
@pytest.mark.parametrize(("asked", "sent"), [(1, 1), (2, 2), (4, 4), (6, 4)])
async def test_submit_sends_exact_documented_request(ratio: str, asked: int, sent: int) -> None:
    # DOC: POST https://api.wavespeed.ai/api/v3/google/imagen3, Authorization: Bearer,
    # Content-Type: application/json; `num_images` is capped at the documented 4.
    provider = WavespeedProvider(KEY)
    with respx.mock() as mock:
        route = mock.post(SUBMIT_URL).mock(
            return_value=httpx.Response(200, json=envelope({"id": "pred-1", "status": "created"}))
        )
        result = await provider.submit(req(n=asked, ratio=ratio))
    sent_request = route.calls.last.request
    assert sent_request.method == "POST"
    assert str(sent_request.url) == SUBMIT_URL
    assert sent_request.headers["Authorization"] == f"Bearer {KEY}"
    assert sent_request.headers["Content-Type"] == "application/json"
    body = json.loads(sent_request.content)
    assert body == {"prompt": "a tidy desk", "aspect_ratio": ratio, "num_images": sent}
    assert body["num_images"] in DOC_NUM_IMAGES
    assert result.job_id == "pred-1" and result.images == ()
    await provider.aclose()


async def test_job_goes_created_processing_completed() -> None:
    provider = WavespeedProvider(KEY)
    assert MODEL is not None
    with respx.mock() as mock:
        route = mock.get(RESULT_URL).mock(
            side_effect=[job("created"), job("processing"), job("completed", [OUT, OUT + "?2"])]
        )
        states = [await provider.status(MODEL, "pred-1") for _ in range(3)]
    assert [s.status for s in states] == ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
    assert [i.url for i in states[2].images] == [OUT, OUT + "?2"]
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {KEY}"


async def test_documented_result_answer_is_read() -> None:
    # DOC, "Response Parameters": every field of the result's `data`, as documented.
    provider = WavespeedProvider(KEY)
    assert MODEL is not None
    data = {
        "id": "pred-1",
        "model": "google/imagen3",
        "outputs": [OUT, OUT + "?2"],
        "urls": {"get": RESULT_URL},
        "has_nsfw_contents": [False, False],
        "status": "completed",
        "created_at": "2023-04-01T12:34:56.789Z",
        "error": "",
        "timings": {"inference": 4210},
    }
    with respx.mock() as mock:
        route = mock.get(RESULT_URL).mock(return_value=httpx.Response(200, json=envelope(data)))
        state = await provider.status(MODEL, "pred-1")
    assert route.calls.last.request.method == "GET"
    assert state.status == "COMPLETED"
    assert [i.url for i in state.images] == [OUT, OUT + "?2"]


async def test_base64_data_uri_outputs_are_decoded() -> None:
    provider = WavespeedProvider(KEY)
    assert MODEL is not None
    raw = b"\x89PNG-imagen3"
    uri = "data:image/png;base64," + base64.b64encode(raw).decode()
    with respx.mock() as mock:
        mock.get(RESULT_URL).mock(return_value=job("completed", [uri]))
        state = await provider.status(MODEL, "pred-1")
    assert state.images[0].data == raw and state.images[0].url is None


async def test_wait_polls_until_terminal() -> None:
    provider = WavespeedProvider(KEY, poll_interval_s=0.001)
    assert MODEL is not None
    with respx.mock() as mock:
        route = mock.get(RESULT_URL).mock(
            side_effect=[job("created"), job("processing"), job("completed", [OUT])]
        )
        state = await provider.wait(MODEL, "pred-1", timeout_s=30)
    assert state.status == "COMPLETED" and route.call_count == 3


@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        (
            "Your prompt was flagged as sensitive content",
            "The provider refused this prompt under its content policy.",
        ),
        ("model overloaded", "The provider could not generate this image: model overloaded."),
        ("", "The provider could not generate this image."),
    ],
)
async def test_failed_job(error: str, sentence: str) -> None:
    provider = WavespeedProvider(KEY)
    assert MODEL is not None
    with respx.mock() as mock:
        mock.get(RESULT_URL).mock(return_value=job("failed", error=error))
        state = await provider.status(MODEL, "pred-1")
    assert (state.status, state.error) == ("FAILED", sentence)


async def test_completed_without_outputs_is_failed() -> None:
    provider = WavespeedProvider(KEY)
    assert MODEL is not None
    with respx.mock() as mock:
        mock.get(RESULT_URL).mock(return_value=job("completed", []))
        state = await provider.status(MODEL, "pred-1")
    assert state.status == "FAILED"
    assert state.error == "The provider finished but returned no images."


@pytest.mark.parametrize(
    ("answer", "message", "code"),
    [
        (
            httpx.Response(400, json={"code": 400, "message": "aspect_ratio is invalid"}),
            "The provider rejected the request: aspect_ratio is invalid.",
            "provider_rejected",
        ),
        (
            httpx.Response(200, json={"code": 400, "message": "prompt is required", "data": None}),
            "The provider rejected the request: prompt is required.",
            "provider_rejected",
        ),
        (
            httpx.Response(502, text="<html>bad gateway</html>"),
            "The provider is unavailable right now. Please try again.",
            "provider_unavailable",
        ),
        (
            httpx.ConnectError("refused"),
            "The provider is unavailable right now. Please try again.",
            "provider_unavailable",
        ),
        (
            httpx.ReadTimeout("slow"),
            "The provider took too long to answer.",
            "provider_timeout",
        ),
        (
            httpx.Response(200, json=envelope({"status": "created"})),
            "The provider is unavailable right now. Please try again.",
            "provider_unavailable",
        ),
    ],
    ids=["400", "code-400", "502", "connect", "timeout", "no-id"],
)
async def test_submit_errors_are_mapped(answer: object, message: str, code: str) -> None:
    provider = WavespeedProvider(KEY)
    with respx.mock() as mock:
        route = mock.post(SUBMIT_URL)
        if isinstance(answer, Exception):
            route.mock(side_effect=answer)
        else:
            route.mock(return_value=answer)
        with pytest.raises(ProviderError) as info:
            await provider.submit(req())
    assert (info.value.message, info.value.code) == (message, code)


async def test_status_http_error_raises() -> None:
    provider = WavespeedProvider(KEY)
    assert MODEL is not None
    with respx.mock() as mock:
        mock.get(RESULT_URL).mock(return_value=httpx.Response(503, json={"message": "down"}))
        with pytest.raises(ProviderError) as info:
            await provider.status(MODEL, "pred-1")
    assert info.value.code == "provider_unavailable"


async def test_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    provider = WavespeedProvider(KEY)
    assert KEY not in repr(provider)
    caplog.set_level(logging.DEBUG)
    body = {"code": 401, "message": f"invalid token Bearer {KEY}"}
    with respx.mock() as mock:
        mock.post(SUBMIT_URL).mock(return_value=httpx.Response(422, json=body))
        with pytest.raises(ProviderError) as info:
            await provider.submit(req())
    assert KEY not in info.value.message and KEY not in caplog.text
    assert "Bearer [redacted]" in info.value.message
