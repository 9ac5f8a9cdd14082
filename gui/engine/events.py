"""Typed events the engine publishes; the GUI's single bridge turns them into Qt signals.

Every event names the generation it is about by ``local_id``: a stable id the engine makes
the moment ``submit`` is called (before any network), so a tile can appear at once and be
updated in place as the generation moves through its phases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from catalog import Options


class Phase(StrEnum):
    VALIDATING = "validating"
    UPLOADING = "uploading"
    RESERVING = "reserving"
    SUBMITTING = "submitting"
    QUEUED = "queued"
    RUNNING = "running"
    SAVING = "saving"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (Phase.COMPLETED, Phase.FAILED, Phase.CANCELLED)


@dataclass(frozen=True)
class GenerationStarted:
    local_id: str
    prompt: str
    # The request's options whole, so "reuse settings" on the tile can restore them all.
    options: Options
    session_id: str | None
    resumed: bool = False  # True when restored from the journal at start


@dataclass(frozen=True)
class GenerationProgress:
    local_id: str
    phase: Phase
    # A short status line for the tile: "Uploading 2/3", "In queue #4", "Generating...".
    detail: str = ""
    queue_position: int | None = None
    generation_id: str | None = None  # the Convex sessionGenerations id, once known
    session_id: str | None = None


@dataclass(frozen=True)
class UploadProgress:
    local_id: str
    index: int  # attachment index
    sent: int
    total: int


@dataclass(frozen=True)
class GenerationCompleted:
    local_id: str
    generation_id: str | None
    session_id: str | None
    image_urls: tuple[str, ...]


@dataclass(frozen=True)
class GenerationFailed:
    local_id: str
    message: str  # a sentence for the user
    code: str = "error"
    retryable: bool = True
    generation_id: str | None = None  # the Convex row, when one was made
    # The session the row is in, when one was made (the server may create it for the first
    # generation of a new session, and name it even in an error answer): a retry reuses it.
    session_id: str | None = None


@dataclass(frozen=True)
class GenerationCancelled:
    local_id: str
    reason: str = "Cancelled."
    generation_id: str | None = None  # the Convex row, when one was made
    session_id: str | None = None  # as on GenerationFailed


@dataclass(frozen=True)
class SessionsChanged:
    """The session list changed (a session was created or got a new preview)."""


@dataclass(frozen=True)
class CreditsChanged:
    total: int
    reserved: int
    available: int


@dataclass(frozen=True)
class ConnectionChanged:
    online: bool
    message: str = ""


@dataclass(frozen=True)
class BackgroundError:
    """A background coroutine failed; reported, never swallowed."""

    where: str
    message: str


EngineEvent = (
    GenerationStarted
    | GenerationProgress
    | UploadProgress
    | GenerationCompleted
    | GenerationFailed
    | GenerationCancelled
    | SessionsChanged
    | CreditsChanged
    | ConnectionChanged
    | BackgroundError
)


@dataclass
class EventBus:
    """Fan-out of engine events to subscribers (the Qt bridge, the CLI, tests).

    Subscribers are plain callables invoked synchronously on the event loop thread, in
    publication order; ``stream()`` gives an async iterator for consumers that prefer one.
    """

    _subscribers: list[Callable[[EngineEvent], None]] = field(default_factory=list)

    def subscribe(self, callback: Callable[[EngineEvent], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def publish(self, event: EngineEvent) -> None:
        for callback in list(self._subscribers):
            callback(event)

    def stream(self) -> asyncio.Queue[EngineEvent]:
        queue: asyncio.Queue[EngineEvent] = asyncio.Queue()
        self.subscribe(queue.put_nowait)
        return queue
