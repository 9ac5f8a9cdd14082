"""What the Fal provider tests share: the fake key, request builder and queue answers."""

from __future__ import annotations

import httpx

from backend.providers.base import ProviderRequest
from catalog import get_model

KEY = "fal-test-key-123:secret456"
QUEUE = "https://queue.fal.run"
OUT_URL = "https://v3.fal.media/files/out/1.png"
U = [f"https://store.test/files/u/{i}.png" for i in range(12)]


def req(
    model_id: str,
    *,
    ratio: str = "16:9",
    n: int = 3,
    urls: int = 0,
    resolution: str | None = None,
    quality: str | None = None,
    prompt: str = "a red fox",
) -> ProviderRequest:
    model = get_model(model_id)
    assert model is not None
    return ProviderRequest(
        prompt=prompt,
        model=model,
        aspect_ratio=ratio,
        num_images=n,
        resolution=resolution,
        quality=quality,
        attachment_urls=tuple(U[:urls]),
    )


def app_base(endpoint: str) -> str:
    owner, alias = endpoint.split("/")[:2]
    return f"{QUEUE}/{owner}/{alias}"


def queued_answer(endpoint: str, rid: str) -> httpx.Response:
    base = f"{app_base(endpoint)}/requests/{rid}"
    return httpx.Response(
        200,
        json={
            "request_id": rid,
            "response_url": base,
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
            "queue_position": 0,
        },
    )
