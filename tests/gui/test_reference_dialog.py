"""Issue 14 item 10 (part): the reference file dialog starts in Pictures, else home, and
then in the folder the user last took references from (kept across restarts)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog

from gui.widgets.reference_files import ReferenceFolder, default_folder
from tests.gui.support import open_window


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder whose XDG Pictures folder is ``~/Bilder``."""
    home = tmp_path / "home"
    config = tmp_path / "config"
    (home / "Bilder").mkdir(parents=True)
    config.mkdir()
    (config / "user-dirs.dirs").write_text('XDG_PICTURES_DIR="$HOME/Bilder"\n')
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return home


def test_the_default_folder_is_pictures_else_home(home: Path) -> None:
    assert default_folder() == home / "Bilder"
    (home / "Bilder").rmdir()
    assert default_folder() == home


def test_the_attach_button_opens_in_pictures_then_in_the_last_folder(
    run_qasync: Any,
    tmp_path: Path,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_png: Callable[..., Path],
) -> None:
    elsewhere = tmp_path / "shoot"
    elsewhere.mkdir()
    photo = make_png("photo.png")
    chosen = elsewhere / "photo.png"
    chosen.write_bytes(photo.read_bytes())
    opened_in: list[str] = []

    def dialog(parent: Any, caption: str, folder: str, filters: str) -> tuple[list[str], str]:
        opened_in.append(folder)
        return [str(chosen)], filters

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(dialog))
    ini = str(tmp_path / "settings.ini")

    async def scenario() -> None:
        session, window, _controller = await open_window(tmp_path / "app", resume=False)
        try:
            bar = window.prompt_bar
            bar.strip.folder = ReferenceFolder(QSettings(ini, QSettings.Format.IniFormat))
            bar.attach_button.click()
            assert opened_in == [str(home / "Bilder")]
            assert bar.strip.names() == ["photo.png"]
            bar.attach_button.click()
            assert opened_in[-1] == str(elsewhere)
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
    # Remembered for the next run of the app.
    assert ReferenceFolder(QSettings(ini, QSettings.Format.IniFormat)).start() == elsewhere
