"""What an open engine session offers the window: the typed door between widgets and engine.

`gui.app.EngineSession` (the composition root's) is the implementation; widgets take this
Protocol instead, so they stay typed without importing the composition root, and a test or
a benchmark may hand them any session of the same shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from gui.engine.clerk_sign_in import ClerkSignIn
from gui.engine.config import ClientConfig
from gui.engine.edit_references import EditReferences
from gui.engine.engine import GenerationEngine
from gui.engine.images import ImageFetcher
from gui.engine.library import Library
from gui.engine.prompt_history import PromptHistory
from gui.engine.settings import SettingsStore
from gui.engine.tokens import TokenProvider


class EngineSessionProtocol(Protocol):
    # Read-only properties: a dataclass's plain attributes satisfy them.
    @property
    def engine(self) -> GenerationEngine: ...

    @property
    def library(self) -> Library: ...

    @property
    def settings(self) -> SettingsStore: ...

    @property
    def history(self) -> PromptHistory: ...

    @property
    def config(self) -> ClientConfig: ...

    @property
    def references(self) -> EditReferences | None: ...

    @property
    def tokens(self) -> TokenProvider: ...

    @property
    def images(self) -> ImageFetcher | None: ...

    @property
    def needs_sign_in(self) -> bool: ...

    def clerk_sign_in(
        self, url: str, open_browser: Callable[[str], object] | None = None
    ) -> ClerkSignIn: ...

    async def close(self) -> None: ...
