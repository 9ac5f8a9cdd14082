"""The path of one generation to its tile (docs/architecture.md, "Files crossed").

The grid's model follows the bridge itself: an engine event reaches its tile without the
controller relaying it, and the model decides which session's generations get a tile.
These tests keep that true, with a real EventBus and bridge and no controller at all.
"""

from __future__ import annotations

import ast
from pathlib import Path

from catalog import Options
from gui.engine.events import (
    EventBus,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
    Phase,
)
from gui.widgets.bridge import EngineBridge
from gui.widgets.generation_model import GenerationListModel

OPTIONS = Options("img-nano-banana", "1:1", 2)
ROOT = Path(__file__).resolve().parents[2]


def bound_model(qtbot) -> tuple[EventBus, GenerationListModel]:
    bus = EventBus()
    bridge = EngineBridge(bus)
    model = GenerationListModel()
    model.bind(bridge)
    return bus, model


def test_a_tile_follows_the_engine_without_a_controller(qtbot) -> None:
    bus, model = bound_model(qtbot)
    bus.publish(GenerationStarted("a", "a fox", OPTIONS, None))
    assert [i.key for i in model.items()] == ["a"]
    item = model.get("a")
    assert item is not None and item.loading and item.options == OPTIONS
    bus.publish(GenerationProgress("a", Phase.QUEUED, "", 3, "g1", "s1"))
    assert (item.detail, item.generation_id, item.session_id) == ("In queue #3", "g1", "s1")
    bus.publish(GenerationCompleted("a", "g1", "s1", ("http://x/1.png", "http://x/2.png")))
    assert item.status == "done" and item.images == ["http://x/1.png", "http://x/2.png"]


def test_the_model_owns_which_session_gets_a_tile(qtbot) -> None:
    bus, model = bound_model(qtbot)
    model.session_id = "s1"
    bus.publish(GenerationStarted("other", "a whale", OPTIONS, "s2"))
    assert model.rowCount() == 0  # another session's generation: no tile here
    bus.publish(GenerationStarted("mine", "a fox", OPTIONS, "s1"))
    bus.publish(GenerationStarted("new", "an owl", OPTIONS, None))  # creating its session
    assert [i.key for i in model.items()] == ["new", "mine"]
    model.session_id = None  # a new session's grid shows every generation
    bus.publish(GenerationStarted("other2", "a crab", OPTIONS, "s2"))
    assert model.get("other2") is not None


def test_a_failed_or_cancelled_tile_learns_the_session_it_made(qtbot) -> None:
    bus, model = bound_model(qtbot)
    bus.publish(GenerationStarted("f", "a fox", OPTIONS, None))
    bus.publish(GenerationStarted("c", "an owl", OPTIONS, None))
    bus.publish(GenerationFailed("f", "The provider refused.", session_id="s9"))
    bus.publish(GenerationCancelled("c", session_id="s9"))
    failed, cancelled = model.get("f"), model.get("c")
    assert failed is not None and (failed.status, failed.session_id) == ("error", "s9")
    assert cancelled is not None and (cancelled.status, cancelled.session_id) == (
        "cancelled",
        "s9",
    )
    # An event without a session keeps what the tile knew.
    bus.publish(GenerationFailed("f", "Again.", session_id=None))
    assert failed.session_id == "s9"


MODEL_EVENT_METHODS = {
    "add_started",
    "apply_progress",
    "apply_completed",
    "apply_failed",
    "apply_cancelled",
}


def test_the_controller_does_not_relay_generation_events() -> None:
    """The return path skips the controller: it calls none of the model's event methods
    (it may listen to the same signals for the rest of the window)."""
    tree = ast.parse((ROOT / "gui" / "widgets" / "controller.py").read_text())
    called = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not called & MODEL_EVENT_METHODS
    connected = {
        node.args[0].attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "connect"
        and node.args
        and isinstance(node.args[0], ast.Attribute)
    }
    assert "_on_started" not in connected
