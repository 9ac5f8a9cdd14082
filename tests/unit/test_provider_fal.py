"""FalProvider at the HTTP layer: the exact request every Fal model sends, and its answer.

respx stands in for queue.fal.run; fal-client itself runs for real, so these tests also pin
down the URLs it uses (submit, status, result, cancel).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
import respx

from backend.providers.base import ProviderRequest
from backend.providers.fal import FalProvider
from tests.unit.fal_support import KEY, OUT_URL, QUEUE, U, app_base, queued_answer, req

PNG = b"\x89PNG\r\n\x1a\nfake-png-bytes"

# (model id, request, endpoint, exact JSON body) for all 20 Fal models.
CASES: list[tuple[str, ProviderRequest, str, dict[str, Any]]] = [
    (
        "img-imagen4-preview",
        req("img-imagen4-preview"),
        "fal-ai/imagen4/preview",
        {"prompt": "a red fox", "aspect_ratio": "16:9", "num_images": 3},
    ),
    (
        "img-nano-banana",
        req("img-nano-banana", ratio="21:9"),
        "fal-ai/gemini-25-flash-image",
        {"prompt": "a red fox", "aspect_ratio": "21:9", "num_images": 3},
    ),
    (
        "img-nano-banana-edit",
        req("img-nano-banana-edit", ratio="5:4", urls=2),
        "fal-ai/gemini-25-flash-image/edit",
        {"prompt": "a red fox", "image_urls": U[:2], "aspect_ratio": "5:4", "num_images": 3},
    ),
    (
        "img-nano-banana-pro",
        req("img-nano-banana-pro", resolution="4K"),
        "fal-ai/nano-banana-pro",
        {"prompt": "a red fox", "aspect_ratio": "16:9", "num_images": 3, "resolution": "4K"},
    ),
    (
        "img-nano-banana-pro-edit",
        req("img-nano-banana-pro-edit", urls=1, resolution="2K"),
        "fal-ai/nano-banana-pro/edit",
        {
            "prompt": "a red fox",
            "image_urls": U[:1],
            "aspect_ratio": "16:9",
            "num_images": 3,
            "resolution": "2K",
        },
    ),
    (
        "img-seedream-v4",
        req("img-seedream-v4"),
        "fal-ai/bytedance/seedream/v4/text-to-image",
        {"prompt": "a red fox", "image_size": {"width": 2048, "height": 1152}, "num_images": 3},
    ),
    (
        "img-seedream-v4-edit",
        req("img-seedream-v4-edit", ratio="3:4", urls=12),
        "fal-ai/bytedance/seedream/v4/edit",
        {
            "prompt": "a red fox",
            "image_urls": U[:10],
            "image_size": {"width": 1536, "height": 2048},
            "num_images": 3,
            "sync_mode": False,
        },
    ),
    (
        "img-seedream-v45",
        req("img-seedream-v45", ratio="9:16"),
        "fal-ai/bytedance/seedream/v4.5/text-to-image",
        # max_images 1: Fal's schema makes max_images = N ask for up to N x N images.
        {"prompt": "a red fox", "image_size": "portrait_16_9", "num_images": 3, "max_images": 1},
    ),
    (
        "img-seedream-v45-edit",
        req("img-seedream-v45-edit", ratio="1:1", urls=3),
        "fal-ai/bytedance/seedream/v4.5/edit",
        {
            "prompt": "a red fox",
            "image_size": "square_hd",
            "num_images": 3,
            "max_images": 1,
            "image_urls": U[:3],
            "sync_mode": False,
        },
    ),
    (
        "img-flux-kontext-pro",
        req("img-flux-kontext-pro", ratio="4:3", n=1, urls=1),
        "fal-ai/flux-pro/kontext",
        {
            "prompt": "a red fox",
            "image_url": U[0],
            "aspect_ratio": "4:3",
            "num_images": 1,
            "guidance_scale": 6.5,
            # No num_inference_steps: not an input of fal-ai/flux-pro/kontext.
        },
    ),
    (
        "img-gpt-image-1-5",
        req("img-gpt-image-1-5", ratio="4:3", quality="high"),
        "fal-ai/gpt-image-1.5",
        {"prompt": "a red fox", "image_size": "1536x1024", "quality": "high", "num_images": 3},
    ),
    (
        "img-gpt-image-1-5-edit",
        req("img-gpt-image-1-5-edit", ratio="3:4", urls=2, quality="medium"),
        "fal-ai/gpt-image-1.5/edit",
        {
            "prompt": "a red fox",
            "image_urls": U[:2],
            "image_size": "1024x1536",
            "quality": "medium",
            "num_images": 3,
        },
    ),
    (
        "img-hunyuan-v21",
        req("img-hunyuan-v21", ratio="1:1", n=1),
        "fal-ai/hunyuan-image/v2.1/text-to-image",
        {
            # No aspect_ratio: Fal's Hunyuan schemas take the shape from image_size only.
            "prompt": "a red fox",
            "num_images": 1,
            "image_size": "square_hd",
            "negative_prompt": "blurry, low quality, distorted, watermark, text artifacts",
            "num_inference_steps": 28,
            "guidance_scale": 3.5,
        },
    ),
    (
        "img-hunyuan-v3",
        req("img-hunyuan-v3", ratio="4:3", n=2),
        "fal-ai/hunyuan-image/v3/text-to-image",
        {
            "prompt": "a red fox",
            "num_images": 2,
            "image_size": "landscape_4_3",
            "sync_mode": True,
        },
    ),
    (
        "img-wan-v22-a14b",
        req("img-wan-v22-a14b", ratio="9:16", n=1),
        "fal-ai/wan/v2.2-a14b/text-to-image",
        # Wan takes neither num_images nor aspect_ratio (one image per call; fanout.py).
        {"prompt": "a red fox", "image_size": "portrait_16_9"},
    ),
    (
        "img-reve",
        req("img-reve", n=2),
        "fal-ai/reve/text-to-image",
        {"prompt": "a red fox", "aspect_ratio": "16:9", "num_images": 2, "sync_mode": True},
    ),
    (
        "img-reve-edit",
        req("img-reve-edit", n=1, urls=1),
        "fal-ai/reve/edit",
        {"prompt": "a red fox", "image_url": U[0], "num_images": 1, "sync_mode": True},
    ),
    (
        "img-kling-o1",
        req("img-kling-o1", ratio="21:9", n=4, urls=11, resolution="2K"),
        "fal-ai/kling-image/o1",
        {
            "prompt": "a red fox",
            "image_urls": U[:10],
            "aspect_ratio": "21:9",
            "resolution": "2K",
            "num_images": 4,
        },
    ),
    (
        "img-flux-2-max",
        req("img-flux-2-max", ratio="3:4"),
        "fal-ai/flux-2-max",
        # No num_images: one image per call (fanout.py makes one call per image).
        {"prompt": "a red fox", "image_size": "portrait_4_3", "output_format": "jpeg"},
    ),
    (
        "img-flux-2-max-edit",
        req("img-flux-2-max-edit", ratio="16:9", urls=11),
        "fal-ai/flux-2-max/edit",
        {
            "prompt": "a red fox",
            "image_size": "landscape_16_9",
            "output_format": "jpeg",
            "image_urls": U[:10],
        },
    ),
]


def test_cases_cover_every_fal_model() -> None:
    from catalog import MODELS

    fal_ids = {m.id for m in MODELS.values() if m.provider == "fal"}
    assert {case[0] for case in CASES} == fal_ids
    assert len(fal_ids) == 20


@pytest.mark.parametrize(
    ("model_id", "request_", "endpoint", "body"), CASES, ids=[c[0] for c in CASES]
)
async def test_each_fal_model_sends_exact_request(
    model_id: str, request_: ProviderRequest, endpoint: str, body: dict[str, Any]
) -> None:
    provider = FalProvider(KEY, poll_interval_s=0.01)
    rid = f"req-{model_id}"
    base = f"{app_base(endpoint)}/requests/{rid}"
    with respx.mock(assert_all_called=False) as mock:
        submit = mock.post(f"{QUEUE}/{endpoint}").mock(return_value=queued_answer(endpoint, rid))
        mock.get(f"{base}/status").mock(
            return_value=httpx.Response(200, json={"status": "COMPLETED", "logs": []})
        )
        mock.get(base).mock(return_value=httpx.Response(200, json={"images": [{"url": OUT_URL}]}))
        result = await provider.submit(request_)
    assert submit.call_count == 1
    sent = submit.calls.last.request
    assert str(sent.url) == f"{QUEUE}/{endpoint}"
    assert sent.headers["Authorization"] == f"Key {KEY}"
    assert json.loads(sent.content) == body
    if request_.model.call_type == "sync":
        assert not result.queued
        assert [i.url for i in result.images] == [OUT_URL]
    else:
        assert result.job_id == rid and result.images == ()
    await provider.aclose()


async def test_reve_edit_with_two_images_goes_to_remix() -> None:
    provider = FalProvider(KEY, poll_interval_s=0.01)
    endpoint = "fal-ai/reve/remix"
    base = f"{app_base(endpoint)}/requests/r2"
    with respx.mock(assert_all_called=False) as mock:
        edit = mock.post(f"{QUEUE}/fal-ai/reve/edit")
        remix = mock.post(f"{QUEUE}/{endpoint}").mock(return_value=queued_answer(endpoint, "r2"))
        mock.get(f"{base}/status").mock(
            return_value=httpx.Response(200, json={"status": "COMPLETED", "logs": []})
        )
        mock.get(base).mock(return_value=httpx.Response(200, json={"images": [{"url": OUT_URL}]}))
        await provider.submit(req("img-reve-edit", ratio="4:3", n=1, urls=3))
    assert edit.call_count == 0
    assert json.loads(remix.calls.last.request.content) == {
        "prompt": "a red fox",
        "image_urls": U[:3],
        "aspect_ratio": "4:3",
        "num_images": 1,
        "sync_mode": True,
    }


async def test_sync_mode_data_uris_are_decoded() -> None:
    provider = FalProvider(KEY, poll_interval_s=0.01)
    endpoint = "fal-ai/hunyuan-image/v3/text-to-image"
    base = f"{app_base(endpoint)}/requests/h3"
    uri = "data:image/jpeg;base64," + base64.b64encode(PNG).decode()
    with respx.mock() as mock:
        mock.post(f"{QUEUE}/{endpoint}").mock(return_value=queued_answer(endpoint, "h3"))
        mock.get(f"{base}/status").mock(
            return_value=httpx.Response(200, json={"status": "COMPLETED", "logs": []})
        )
        mock.get(base).mock(
            return_value=httpx.Response(200, json={"images": [{"url": uri}, {"url": OUT_URL}]})
        )
        result = await provider.submit(req("img-hunyuan-v3", n=2))
    assert result.images[0].data == PNG and result.images[0].content_type == "image/jpeg"
    assert result.images[0].url is None
    assert result.images[1].url == OUT_URL
