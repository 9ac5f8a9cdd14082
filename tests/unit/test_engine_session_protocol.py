"""The window takes an `EngineSessionProtocol` (gui/engine), not the composition root's
class: the session gui/app.py assembles must offer every member the Protocol names."""

from __future__ import annotations

import dataclasses
import inspect

from gui.app import EngineSession
from gui.engine.engine_session import EngineSessionProtocol


def protocol_members() -> set[str]:
    return {
        name for name, _ in inspect.getmembers(EngineSessionProtocol) if not name.startswith("_")
    }


def test_the_apps_session_offers_everything_the_window_may_use() -> None:
    fields = {f.name for f in dataclasses.fields(EngineSession)}
    members = protocol_members()
    assert {"engine", "library", "settings", "config", "needs_sign_in"} <= members
    missing = {m for m in members if m not in fields and not hasattr(EngineSession, m)}
    assert missing == set(), f"gui.app.EngineSession lacks {missing}"
