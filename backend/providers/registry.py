"""Which provider serves a model: the real one when its key is configured, else local.

Embedded mode (and ``serve --local-providers``) falls back to the local provider for any
model whose real provider has no key; a plain ``serve`` answers 503 instead, so a real
deployment never silently hands out placeholder images. Real providers are imported
lazily: a server without keys never loads their client libraries. A real provider with an
endpoint that answers one image per call (Fal's Flux 2 Max, Wan 2.2) is wrapped in
``FanOutProvider``, which makes one call per requested image.
"""

from __future__ import annotations

from typing import Any

from backend.config import BackendConfig
from backend.errors import ApiError
from backend.image_work_pool import ImageWorkPool
from backend.providers.base import Provider
from backend.providers.fanout import FanOutProvider, fans_out
from backend.providers.local import LocalProvider
from backend.storage.notify import Notifier
from backend.store.base import ObjectStore
from catalog import MODELS, ModelSpec

PROVIDER_LABELS: dict[str, str] = {
    "fal": "fal.ai",
    "wavespeed": "WaveSpeed",
    "azure": "Azure OpenAI",
    "local": "The local provider",
}
LOCAL_DB_NAME = "local_queue.sqlite3"


def _not_configured(name: str) -> ApiError:
    label = PROVIDER_LABELS.get(name, name)
    return ApiError(503, "provider_not_configured", f"{label} is not configured on this server.")


class ProviderRegistry:
    """Builds each provider once and hands it out by model or by name."""

    def __init__(
        self,
        config: BackendConfig,
        store: ObjectStore,
        image_work: ImageWorkPool | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.image_work = image_work
        self.notifier = notifier
        self._providers: dict[str, Provider] = {}
        self._local: LocalProvider | None = None

    @property
    def local_allowed(self) -> bool:
        return self.config.embedded or self.config.local_providers

    @property
    def local(self) -> LocalProvider:
        """The one LocalProvider of this registry (created on first use)."""
        if self._local is None:
            cfg = self.config
            self._local = LocalProvider(
                self.store,
                cfg.database(LOCAL_DB_NAME),
                queue_s=cfg.local_queue_s,
                run_s=cfg.local_run_s,
                fail_rate=cfg.local_fail_rate,
                fail_prompts=cfg.local_fail_prompts,
                sync_s=cfg.local_sync_s,
                image_work=self.image_work,
                notifier=self.notifier,
            )
        return self._local

    def is_configured(self, name: str) -> bool:
        cfg = self.config
        if name == "fal":
            return bool(cfg.fal_key)
        if name == "wavespeed":
            return bool(cfg.wavespeed_key)
        if name == "azure":
            return bool(cfg.azure_api_key and cfg.azure_base_url)
        return False

    def for_model(self, model: ModelSpec) -> Provider:
        """The provider that generates ``model`` on this server (ApiError 503 if none)."""
        if self.is_configured(model.provider):
            return self._real(model.provider)
        if self.local_allowed:
            return self.local
        raise _not_configured(model.provider)

    def by_name(self, name: str) -> Provider:
        """The provider a request id names (for status calls)."""
        if name == "local":
            if not self.local_allowed:
                raise _not_configured("local")
            return self.local
        if name in ("fal", "wavespeed", "azure"):
            if not self.is_configured(name):
                raise _not_configured(name)
            return self._real(name)
        raise ApiError(400, "unknown_provider", "This request names an unknown provider.")

    async def aclose(self) -> None:
        """Close the real providers' HTTP clients, where they have any, and the local one."""
        providers: list[Any] = list(self._providers.values())
        if self._local is not None:
            providers.append(self._local)
        for provider in providers:
            closer: Any = getattr(provider, "aclose", None)
            if closer is not None:
                await closer()

    def _real(self, name: str) -> Provider:
        provider = self._providers.get(name)
        if provider is None:
            provider = self._build(name)
            self._providers[name] = provider
        return provider

    def _build(self, name: str) -> Provider:
        provider = self._build_real(name)
        if any(fans_out(m) for m in MODELS.values() if m.provider == name):
            # Some of its endpoints answer one image per call: one call per image.
            return FanOutProvider(provider)
        return provider

    def _build_real(self, name: str) -> Provider:
        cfg = self.config
        if name == "fal":
            from backend.providers.fal import FalProvider

            # References go to Fal storage unless the store is public (fal_references.py).
            return FalProvider.from_config(cfg, self.store)
        if name == "wavespeed":
            from backend.providers.wavespeed import WavespeedProvider

            return WavespeedProvider(cfg.wavespeed_key or "")
        from backend.providers.azure import AzureProvider

        return AzureProvider(
            cfg.azure_api_key or "",
            cfg.azure_base_url or "",
            cfg.azure_image_edits_url,
            timeout_s=cfg.provider_sync_timeout_s,
        )
