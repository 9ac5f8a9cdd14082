"""Helpers for window tests on a qasync loop against the real embedded backend."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from gui.app import EngineSession, open_engine
from gui.engine.config import ClientConfig
from gui.widgets.controller import WindowController
from gui.widgets.main_window import MainWindow
from gui.widgets.prompt_bar import PromptBar
from gui.widgets.request_state import RequestState

Scenario = Callable[[], Coroutine[Any, Any, None]]


async def until(predicate: Callable[[], bool], limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def open_window(
    data_dir: Path, resume: bool = True
) -> tuple[EngineSession, MainWindow, WindowController]:
    session = await open_engine(ClientConfig(data_dir=data_dir), resume=False)
    window = MainWindow(thumb_dir=data_dir / "thumbs")
    window.resize(1200, 800)
    window.show()
    controller = WindowController(window, session)
    await controller.start(resume=resume)
    return session, window, controller


def type_and_generate(window: MainWindow, prompt: str, state: RequestState) -> None:
    bar = window.prompt_bar
    bar.set_state(state)
    bar.prompt.clear()
    bar.prompt.setFocus()
    for ch in prompt:  # typed like a user
        bar.prompt.insertPlainText(ch)
    assert bar.generate_button.isEnabled(), bar.generate_button.toolTip()
    bar.generate_button.click()


def shown_prompt_bar(qtbot: Any, model: str = "img-nano-banana") -> PromptBar:
    """A prompt bar on screen (``qtbot`` closes it), set to ``model``."""
    bar = PromptBar()
    qtbot.addWidget(bar)
    bar.resize(1000, 220)
    bar.show()
    bar.set_state(RequestState(model=model))
    return bar
