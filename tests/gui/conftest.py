"""GUI test setup: offscreen Qt, a fixed dark theme, and a real PNG helper."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PIL import Image
from PySide6.QtWidgets import QApplication

import gui.app
from backend.server import EmbeddedBackend
from gui.widgets import theme
from tests.gui.support import Scenario


@pytest.fixture(autouse=True, scope="session")
def _theme(qapp: QApplication) -> None:
    # Once per run: re-applying the style sheet repolishes every widget (slow).
    theme.apply_theme(qapp, "dark")


@pytest.fixture
def make_png(tmp_path: Path) -> Callable[..., Path]:
    """Write a real PNG image and return its path."""

    def make(
        name: str = "ref.png", size: tuple[int, int] = (320, 200), color: str = "teal"
    ) -> Path:
        path = tmp_path / name
        Image.new("RGB", size, color).save(path)
        return path

    return make


@pytest.fixture
def backend_timings() -> dict[str, Any]:
    """The local provider's queue and run times (a test module may override this)."""
    return {"local_queue_s": 0.2, "local_run_s": 0.3}


@pytest.fixture
def run_qasync(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch, backend_timings: dict[str, Any]
) -> Iterator[Callable[[Scenario], None]]:
    """Run a scenario on a qasync loop (Qt events and asyncio interleave, as in the app)."""
    monkeypatch.setattr(
        gui.app,
        "start_embedded_backend",
        lambda data_dir, **kw: EmbeddedBackend(Path(data_dir), **{**backend_timings, **kw}).start(),
    )
    # Closing a window must not quit the application (it would stop the loop mid-test).
    qapp.setQuitOnLastWindowClosed(False)
    # Held in a list so teardown can drop the only reference (pytest keeps `run` alive).
    loops = [qasync.QEventLoop(qapp)]
    asyncio.set_event_loop(loops[0])

    def run(scenario: Scenario) -> None:
        loops[0].run_until_complete(asyncio.wait_for(scenario(), 90))

    yield run
    asyncio.set_event_loop(None)
    loops.pop().close()
    # Destroy the loop (its timer QObject) and the test's windows here, on the GUI thread.
    # Left to a later cyclic collection, they may be freed from a worker thread (uvicorn,
    # to_thread), where Qt cannot unregister their timers: the next timer event then hits
    # freed memory and the whole run segfaults.
    gc.collect()
