"""ProviderRegistry: real providers when keyed, the local provider as the fallback."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from backend.config import BackendConfig
from backend.errors import ApiError
from backend.providers.fanout import FanOutProvider
from backend.providers.local import LocalProvider
from backend.providers.registry import ProviderRegistry
from backend.store.local import LocalObjectStore
from catalog import MODELS, ModelSpec


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(
        tmp_path / "files", "http://127.0.0.1:8765", b"registry-secret-0123456789abcdef"
    )


def config(tmp_path: Path, **kw: object) -> BackendConfig:
    return replace(BackendConfig(data_dir=tmp_path / "data"), **kw)  # type: ignore[arg-type]


def model(model_id: str) -> ModelSpec:
    return MODELS[model_id]


def test_embedded_registry_uses_one_local_provider_for_every_model(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    registry = ProviderRegistry(config(tmp_path, local_queue_s=3.0), store)
    providers = {id(registry.for_model(m)) for m in MODELS.values()}
    assert len(providers) == 1
    local = registry.for_model(model("img-imagen3"))
    assert isinstance(local, LocalProvider)
    assert local.queue_s == 3.0
    assert registry.by_name("local") is local
    assert (tmp_path / "data" / "local_queue.sqlite3").exists()


def test_serve_without_keys_answers_503(store: LocalObjectStore, tmp_path: Path) -> None:
    registry = ProviderRegistry(config(tmp_path, embedded=False), store)
    for model_id, label in [
        ("img-nano-banana", "fal.ai"),
        ("img-imagen3", "WaveSpeed"),
        ("img-gpt-image-1", "Azure OpenAI"),
    ]:
        with pytest.raises(ApiError) as info:
            registry.for_model(model(model_id))
        assert (info.value.status, info.value.code) == (503, "provider_not_configured")
        assert info.value.message == f"{label} is not configured on this server."
    with pytest.raises(ApiError):
        registry.by_name("local")
    with pytest.raises(ApiError) as info:
        registry.by_name("fal")
    assert info.value.status == 503


def test_serve_with_local_providers_falls_back_to_local(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    registry = ProviderRegistry(config(tmp_path, embedded=False, local_providers=True), store)
    assert isinstance(registry.for_model(model("img-reve")), LocalProvider)


def test_a_configured_key_selects_the_real_provider(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    fal = pytest.importorskip("backend.providers.fal")
    registry = ProviderRegistry(config(tmp_path, fal_key="k-123"), store)
    chosen = registry.for_model(model("img-nano-banana"))
    # Fal is wrapped: Flux 2 Max and Wan answer one image per call (fanout.py).
    assert isinstance(chosen, FanOutProvider) and isinstance(chosen.inner, fal.FalProvider)
    assert registry.by_name("fal") is chosen
    # Wavespeed has no key here: embedded mode still answers locally for Imagen 3.
    assert isinstance(registry.for_model(model("img-imagen3")), LocalProvider)


def test_azure_needs_both_key_and_base_url(store: LocalObjectStore, tmp_path: Path) -> None:
    registry = ProviderRegistry(config(tmp_path, embedded=False, azure_api_key="k"), store)
    assert not registry.is_configured("azure")
    with pytest.raises(ApiError):
        registry.for_model(model("img-gpt-image-1"))


def test_unknown_provider_name_is_a_400(store: LocalObjectStore, tmp_path: Path) -> None:
    registry = ProviderRegistry(config(tmp_path), store)
    with pytest.raises(ApiError) as info:
        registry.by_name("midjourney")
    assert (info.value.status, info.value.code) == (400, "unknown_provider")


def test_wavespeed_and_azure_keys_select_their_providers(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    wavespeed = pytest.importorskip("backend.providers.wavespeed")
    azure = pytest.importorskip("backend.providers.azure")
    cfg = config(
        tmp_path,
        embedded=False,
        wavespeed_key="w",
        azure_api_key="a",
        azure_base_url="https://example.openai.azure.com/images",
    )
    registry = ProviderRegistry(cfg, store)
    assert isinstance(registry.for_model(model("img-imagen3")), wavespeed.WavespeedProvider)
    assert isinstance(registry.for_model(model("img-gpt-image-1-edit")), azure.AzureProvider)
    assert registry.by_name("azure") is registry.for_model(model("img-gpt-image-1"))


async def test_aclose_closes_the_real_providers(store: LocalObjectStore, tmp_path: Path) -> None:
    pytest.importorskip("backend.providers.wavespeed")
    registry = ProviderRegistry(config(tmp_path, wavespeed_key="w"), store)
    provider = registry.for_model(model("img-imagen3"))
    http = getattr(provider, "_http", None)
    await registry.aclose()
    if http is not None:  # the provider's own httpx client, if it keeps one
        assert http.is_closed
