"""AzureProvider bounds the whole call (httpx's timeout is per phase): a slow answer ends
inside the provider's share of the server's sync deadline, as a timeout sentence."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from backend.providers.azure import AzureProvider
from backend.providers.base import ProviderError, ProviderRequest
from catalog import get_model

BASE = "https://example.openai.azure.com/openai/deployments/gpt-image-1/images/generations?api-version=2025-04-01-preview"


async def test_slow_answer_ends_at_the_total_deadline() -> None:
    model = get_model("img-gpt-image-1")
    assert model is not None
    provider = AzureProvider("az-key", BASE, timeout_s=0.3)

    async def trickle(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={"data": []})

    # The cancelled answer is never recorded as a call: not asserting that it was made.
    with respx.mock(assert_all_called=False) as mock:
        mock.post(BASE).mock(side_effect=trickle)
        started = asyncio.get_running_loop().time()
        with pytest.raises(ProviderError) as info:
            await provider.submit(
                ProviderRequest(prompt="a desk", model=model, aspect_ratio="1:1", num_images=1)
            )
    assert info.value.code == "provider_timeout"
    assert asyncio.get_running_loop().time() - started < 2
    await provider.aclose()
