"""The bridge turns every engine event type into its own Qt signal."""

from __future__ import annotations

import pytest

from catalog import Options
from gui.engine.events import (
    BackgroundError,
    ConnectionChanged,
    CreditsChanged,
    EventBus,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
    Phase,
    SessionsChanged,
    UploadProgress,
)
from gui.widgets.bridge import EngineBridge

CASES = [
    ("generationStarted", GenerationStarted("l", "p", Options("img-reve", "1:1", 1), None)),
    ("generationProgress", GenerationProgress("l", Phase.QUEUED, "In queue #2", 2)),
    ("uploadProgress", UploadProgress("l", 0, 10, 20)),
    ("generationCompleted", GenerationCompleted("l", "g", "s", ("u",))),
    ("generationFailed", GenerationFailed("l", "Nope.")),
    ("generationCancelled", GenerationCancelled("l")),
    ("creditsChanged", CreditsChanged(10, 2, 8)),
    ("connectionChanged", ConnectionChanged(False, "offline")),
    ("backgroundError", BackgroundError("x", "boom")),
]


@pytest.mark.parametrize(("signal", "event"), CASES)
def test_each_event_becomes_its_signal(qtbot, signal: str, event: object) -> None:
    bus = EventBus()
    bridge = EngineBridge(bus)
    with qtbot.waitSignal(getattr(bridge, signal)) as received:
        bus.publish(event)  # type: ignore[arg-type]
    assert received.args == [event]


def test_sessions_changed_and_detach(qtbot) -> None:
    bus = EventBus()
    bridge = EngineBridge(bus)
    with qtbot.waitSignal(bridge.sessionsChanged):
        bus.publish(SessionsChanged())
    bridge.detach()
    with qtbot.assertNotEmitted(bridge.sessionsChanged):
        bus.publish(SessionsChanged())
    bridge.detach()  # twice is harmless
