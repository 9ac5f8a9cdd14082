"""The theme lives in the settings home: the dialog shows and saves it through client.json,
and the QSettings value older versions kept is moved there once."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings

from gui.engine.config import ClientConfig, save_client_config
from gui.widgets.settings_dialog import SettingsDialog
from gui.widgets.theme import adopt_legacy_theme


def _legacy(tmp_path: Path, theme: str | None) -> QSettings:
    store = QSettings(str(tmp_path / "imagegen.conf"), QSettings.Format.IniFormat)
    if theme is not None:
        store.setValue("theme", theme)
        store.sync()
    return store


def test_an_older_versions_theme_moves_into_client_json_once(tmp_path: Path) -> None:
    config = ClientConfig(data_dir=tmp_path)
    legacy = _legacy(tmp_path, "dark")
    adopted = adopt_legacy_theme(config, legacy)
    assert adopted.theme == "dark"
    assert json.loads(config.settings_file.read_text())["theme"] == "dark"
    assert legacy.value("theme") is None  # read once, never again
    assert adopt_legacy_theme(config, legacy) == config  # nothing left to move


def test_a_legacy_theme_never_overrides_one_chosen_since(tmp_path: Path) -> None:
    config = ClientConfig(data_dir=tmp_path, theme="light")
    save_client_config(config)
    for stale in ("dark", "neon"):
        legacy = _legacy(tmp_path, stale)
        assert adopt_legacy_theme(config, legacy).theme == "light"
        assert legacy.value("theme") is None
    assert json.loads(config.settings_file.read_text())["theme"] == "light"


def test_the_dialog_shows_and_returns_the_theme(qtbot, tmp_path: Path) -> None:
    dialog = SettingsDialog(ClientConfig(data_dir=tmp_path, theme="light"))
    qtbot.addWidget(dialog)
    assert dialog.selected_theme() == "light"
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    edited = dialog.result_config()
    assert edited.theme == "dark"
    save_client_config(edited)
    assert json.loads((tmp_path / "client.json").read_text())["theme"] == "dark"
