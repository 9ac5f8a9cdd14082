"""GUI test setup: offscreen Qt, a fixed dark theme, and a real PNG helper."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtWidgets import QApplication

from gui.widgets import theme


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
