"""One real call per provider, only when its key is set (never counted as coverage).

Run: FAL_KEY=... WAVESPEED_API_KEY=... AZURE_API_KEY=... AZURE_BASE_URL=... \
     python -m pytest tests/live -m live -q
"""

from __future__ import annotations

import os

import pytest

from backend.providers.base import ProviderRequest
from catalog import get_model

pytestmark = [pytest.mark.live, pytest.mark.timeout(300)]

PROMPT = "a small red paper boat on a calm blue lake, studio light"


def _env(*names: str) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def _request(model_id: str) -> ProviderRequest:
    model = get_model(model_id)
    assert model is not None
    return ProviderRequest(
        prompt=PROMPT, model=model, aspect_ratio=model.default_aspect_ratio or "", num_images=1
    )


@pytest.mark.skipif(not _env("FAL_KEY", "FAL_API_KEY"), reason="FAL_KEY is not set")
async def test_fal_imagen4_sync() -> None:
    from backend.providers.fal import FalProvider

    provider = FalProvider(_env("FAL_KEY", "FAL_API_KEY") or "")
    try:
        result = await provider.submit(_request("img-imagen4-preview"))
    finally:
        await provider.aclose()
    assert not result.queued
    assert result.images and (result.images[0].url or result.images[0].data)


@pytest.mark.skipif(
    not _env("WAVESPEED_API_KEY", "WAVESPEED_KEY"), reason="WAVESPEED_API_KEY is not set"
)
async def test_wavespeed_imagen3_queued() -> None:
    from backend.providers.wavespeed import WavespeedProvider

    provider = WavespeedProvider(_env("WAVESPEED_API_KEY", "WAVESPEED_KEY") or "")
    request = _request("img-imagen3")
    try:
        submitted = await provider.submit(request)
        assert submitted.job_id
        state = await provider.wait(request.model, submitted.job_id, timeout_s=240)
    finally:
        await provider.aclose()
    assert state.status == "COMPLETED", state.error
    assert state.images


@pytest.mark.skipif(
    not (_env("AZURE_API_KEY", "AZURE_OPENAI_API_KEY") and _env("AZURE_BASE_URL")),
    reason="AZURE_API_KEY / AZURE_BASE_URL are not set",
)
async def test_azure_gpt_image_1_sync() -> None:
    from backend.providers.azure import AzureProvider

    provider = AzureProvider(
        _env("AZURE_API_KEY", "AZURE_OPENAI_API_KEY") or "",
        _env("AZURE_BASE_URL") or "",
        _env("AZURE_IMAGE_EDITS_URL"),
    )
    try:
        result = await provider.submit(_request("img-gpt-image-1"))
    finally:
        await provider.aclose()
    assert result.images and result.images[0].data
