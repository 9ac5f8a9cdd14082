"""Composition root: config -> (embedded backend) -> engine -> window.

The one place the program is assembled: only this module starts the embedded backend, and
the window (`main`) and `imagegen generate` (`generate_main`) are handed the configuration
and the way to open an engine session from here: gui/widgets/launch.py and
gui/engine/cli_generate.py never import this module (tests/unit/test_dependency_rules.py).
Everything here but `main` is Qt-free, so the CLI and the tests open the same engine the
window uses.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from gui.engine.api_client import ApiClient
from gui.engine.clerk_sign_in import ClerkSignIn
from gui.engine.config import ClientConfig, ConfigurationError, load_client_config
from gui.engine.connectivity import ConnectionMonitor, http_probe
from gui.engine.convex_gateway import ConvexGateway
from gui.engine.edit_references import EditReferences
from gui.engine.engine import GenerationEngine
from gui.engine.events import BackgroundError, EventBus
from gui.engine.images import ImageFetcher
from gui.engine.journal import Journal
from gui.engine.library import Library
from gui.engine.prompt_history import PromptHistory
from gui.engine.settings import SettingsStore
from gui.engine.tokens import (
    ClerkTokenProvider,
    EmbeddedTokenProvider,
    KeyringStore,
    StaticTokenProvider,
    TokenProvider,
    needs_sign_in,
)

if TYPE_CHECKING:
    from backend.server import EmbeddedBackend

log = logging.getLogger(__name__)


def start_embedded_backend(data_dir: Path, **overrides: Any) -> EmbeddedBackend:
    """The whole backend in-process on a loopback port (blocks until it accepts requests)."""
    from backend.server import EmbeddedBackend  # the backend is only needed in this mode

    return EmbeddedBackend(Path(data_dir), **overrides).start()


def journal_path(config: ClientConfig) -> Path:
    """One journal per backend: rows refer to that backend's ids, so a journal written
    against one deployment is never resumed against another."""
    if config.mode == "embedded":
        return config.data_dir / "journal-embedded.sqlite3"
    key = f"{config.api_base_url}|{config.convex_url}".encode()
    return config.data_dir / f"journal-{hashlib.sha256(key).hexdigest()[:12]}.sqlite3"


def make_token_provider(
    config: ClientConfig, api_base_url: str, client: httpx.AsyncClient
) -> TokenProvider:
    if config.static_token:
        return StaticTokenProvider(config.static_token)
    if config.mode == "embedded":
        return EmbeddedTokenProvider(api_base_url, config.user_id, client=client)
    if config.clerk_frontend_url:
        # The email is only a hint: a Google or Apple sign-in knows none up front; the
        # keyring holds whoever signed in last for this Frontend API (clerk_sign_in.py).
        return ClerkTokenProvider(config.clerk_frontend_url, config.email or None, client=client)
    raise ConfigurationError(
        "Sign-in is not configured for this deployment: set a token (IMAGEGEN_TOKEN or "
        "--token) or a Clerk frontend API URL in the settings."
    )


@dataclass
class EngineSession:
    engine: GenerationEngine
    library: Library
    settings: SettingsStore
    history: PromptHistory  # earlier prompts, for the prompt bar's Up/Down and menu
    config: ClientConfig
    backend: EmbeddedBackend | None
    tokens: TokenProvider
    _client: httpx.AsyncClient
    _journal: Journal
    images: ImageFetcher | None = None
    monitor: ConnectionMonitor | None = None
    references: EditReferences | None = None  # each edit's references (before / after)

    @property
    def needs_sign_in(self) -> bool:
        """A deployment signed in through Clerk that has no sign-in stored yet."""
        return needs_sign_in(self.tokens)

    @property
    def embedded(self) -> bool:
        """Whether this session runs the built-in backend (its URLs end with the session)."""
        return self.backend is not None

    async def resume(self) -> None:
        """Resume the journal; a failure is published, never raised (the app must open)."""
        try:
            await self.engine.start()
        except Exception as exc:
            log.exception("resuming unfinished generations failed")
            self.engine.events.publish(BackgroundError("resume", str(exc) or type(exc).__name__))

    def clerk_sign_in(
        self, url: str, open_browser: Callable[[str], object] | None = None
    ) -> ClerkSignIn:
        """The sign-in the Settings dialog runs: into this session's token store when it
        signs in at the same Frontend API (the window then uses it at once)."""
        tokens = self.tokens
        if isinstance(tokens, ClerkTokenProvider) and tokens.frontend_api_url == url.rstrip("/"):
            return tokens.sign_in_flow(open_browser)
        return ClerkSignIn(url, KeyringStore(), client=self._client, open_browser=open_browser)

    async def close(self) -> None:
        """Stop the engine (unfinished work stays journaled), then the backend."""
        try:
            await self.library.trash.flush()  # deleted within the undo window: stays deleted
            await self.engine.close()
        finally:
            if self.monitor is not None:
                await self.monitor.close()
            if self.images is not None:
                await self.images.close()
            self._journal.close()
            if self.references is not None:
                self.references.close()
            await self._client.aclose()
            if self.backend is not None:
                await asyncio.to_thread(self.backend.stop)


async def open_engine(config: ClientConfig, *, resume: bool = True) -> EngineSession:
    """Everything the window (or the CLI) needs, with the journal resumed."""
    backend: EmbeddedBackend | None = None
    if config.mode == "embedded":
        backend = await asyncio.to_thread(start_embedded_backend, config.backend_data_dir)
        api_url, convex_url = backend.base_url, backend.convex_url
    else:
        if not config.api_base_url or not config.convex_url:
            raise ConfigurationError(
                "A deployment needs both an API base URL and a Convex URL "
                "(IMAGEGEN_API_URL and IMAGEGEN_CONVEX_URL, or the settings)."
            )
        api_url, convex_url = config.api_base_url, config.convex_url
    client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
    try:
        tokens = make_token_provider(config, api_url, client)
    except ConfigurationError:
        await client.aclose()
        if backend is not None:
            backend.stop()
        raise
    bus = EventBus()
    # The offline banner: any call that cannot reach the servers starts a probe that
    # reports when both answer again.
    monitor = ConnectionMonitor(bus, http_probe(client, [f"{api_url}/healthz", convex_url]))
    api = ApiClient(api_url, tokens, client=client, on_reach=monitor.report)
    gateway = ConvexGateway(convex_url, tokens, client=client, on_reach=monitor.report)
    journal = Journal(journal_path(config))
    # Next to the journal, one per backend: the ids it keys by are that backend's.
    references = EditReferences(journal_path(config).with_suffix(".references.sqlite3"))
    references.follow(bus.subscribe, journal)
    # Store URLs saved while the embedded backend had another port are rewritten to this one.
    local_base = backend.base_url if backend is not None else None
    engine = GenerationEngine(
        api,
        gateway,
        journal,
        bus=bus,
        long_edge=config.upload_long_edge,
        local_store_base=local_base,
    )
    library = Library(gateway)
    session = EngineSession(
        engine=engine,
        library=library,
        settings=SettingsStore(
            config.settings_file,
            legacy_file=config.legacy_settings_path,
            backend=config.backend_key,
        ),
        history=PromptHistory(library),
        config=config,
        backend=backend,
        tokens=tokens,
        _client=client,
        _journal=journal,
        # Display images come as the backend's variants once its features say it makes them.
        images=ImageFetcher(
            config.data_dir / "cache" / "images", local_base=local_base, features=engine.features
        ),
        monitor=monitor,
        references=references,
    )
    if resume:
        await session.resume()
    return session


def main(argv: Sequence[str] | None = None) -> int:
    """``imagegen``: the window, on the stored configuration (Qt is imported only here)."""
    from gui.widgets.launch import run_window
    from gui.widgets.theme import adopt_legacy_theme

    config = adopt_legacy_theme(load_client_config())
    # Resumed later by the controller, once the bridge listens for its events.
    return run_window(config, lambda: open_engine(config, resume=False), argv)


def generate_main(argv: Sequence[str] | None = None) -> int:
    """``imagegen generate``: one generation headless, on an engine opened here."""
    from gui.engine.cli_generate import main as run_generate

    return run_generate(argv, open_session=lambda config: open_engine(config, resume=False))
