"""The session the window showed last is kept per backend in the settings home."""

from __future__ import annotations

import json
from pathlib import Path

from gui.engine.config import ClientConfig, load_client_config, save_client_config
from gui.engine.settings import SettingsStore


def test_each_backend_remembers_its_own_session(tmp_path: Path) -> None:
    path = tmp_path / "client.json"
    embedded = SettingsStore(path, backend="embedded")
    deployment = SettingsStore(path, backend="https://api.example|https://convex.example")
    assert embedded.last_session() is None
    embedded.remember_session("s-local")
    deployment.remember_session("s-remote")
    embedded.remember_session("s-local-2")
    assert embedded.last_session() == "s-local-2"
    assert deployment.last_session() == "s-remote"
    # The rest of the settings home is kept, and the file still loads as a whole.
    config = load_client_config(path)
    assert config.last_sessions == {
        "embedded": "s-local-2",
        "https://api.example|https://convex.example": "s-remote",
    }


def test_an_odd_stored_value_is_no_session_and_does_not_void_the_file(tmp_path: Path) -> None:
    path = tmp_path / "client.json"
    path.write_text(json.dumps({"theme": "dark", "last_sessions": {"embedded": 42}}))
    assert SettingsStore(path).last_session() is None
    assert load_client_config(path).theme == "dark"
    path.write_text(json.dumps({"last_sessions": "not a mapping"}))
    assert SettingsStore(path).last_session() is None


def test_saving_the_settings_dialog_keeps_the_last_session(tmp_path: Path) -> None:
    path = tmp_path / "client.json"
    loaded = load_client_config(path)  # the dialog edits a copy loaded before the switch
    SettingsStore(path, backend=loaded.backend_key).remember_session("s-viewed")
    save_client_config(loaded.model_copy(update={"theme": "light"}), path)
    assert SettingsStore(path).last_session() == "s-viewed"


def test_backend_key_names_the_deployment() -> None:
    assert ClientConfig().backend_key == "embedded"
    remote = ClientConfig(mode="deployment", api_base_url="https://a/", convex_url="https://c")
    assert remote.backend_key == "https://a|https://c"
