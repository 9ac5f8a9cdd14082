"""The one place engine events cross into Qt: each event type becomes a typed signal.

Widgets never subscribe to the EventBus themselves; they connect to these signals. The bus
calls back on the asyncio loop thread, which under qasync is the GUI thread, so emitting
directly is safe (queued connections are not needed).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from gui.engine.events import (
    BackgroundError,
    ConnectionChanged,
    CreditsChanged,
    EngineEvent,
    EventBus,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
    SessionsChanged,
    UploadProgress,
)


class EngineBridge(QObject):
    generationStarted = Signal(object)  # GenerationStarted
    generationProgress = Signal(object)  # GenerationProgress
    uploadProgress = Signal(object)  # UploadProgress
    generationCompleted = Signal(object)  # GenerationCompleted
    generationFailed = Signal(object)  # GenerationFailed
    generationCancelled = Signal(object)  # GenerationCancelled
    sessionsChanged = Signal()
    creditsChanged = Signal(object)  # CreditsChanged
    connectionChanged = Signal(object)  # ConnectionChanged
    reconnected = Signal()  # ConnectionChanged(online=True): the backend answers again
    backgroundError = Signal(object)  # BackgroundError

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus = bus
        self._routes: dict[type, Callable[[EngineEvent], None]] = {
            GenerationStarted: self.generationStarted.emit,
            GenerationProgress: self.generationProgress.emit,
            UploadProgress: self.uploadProgress.emit,
            GenerationCompleted: self.generationCompleted.emit,
            GenerationFailed: self.generationFailed.emit,
            GenerationCancelled: self.generationCancelled.emit,
            SessionsChanged: lambda _e: self.sessionsChanged.emit(),
            CreditsChanged: self.creditsChanged.emit,
            ConnectionChanged: self._on_connection,
            BackgroundError: self.backgroundError.emit,
        }
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._on_event)

    @property
    def bus(self) -> EventBus:
        return self._bus

    def _on_event(self, event: EngineEvent) -> None:
        route = self._routes.get(type(event))
        if route is not None:
            route(event)

    def _on_connection(self, event: EngineEvent) -> None:
        self.connectionChanged.emit(event)
        # The monitor publishes online=True only when the backend comes back.
        if isinstance(event, ConnectionChanged) and event.online:
            self.reconnected.emit()

    def detach(self) -> None:
        """Stop listening (the window is closing; the bus may outlive it)."""
        if self._unsubscribe is not None:
            try:
                self._unsubscribe()
            except ValueError:  # already removed
                pass
            self._unsubscribe = None
