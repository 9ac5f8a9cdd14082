"""One settings home: client.json (under the IMAGEGEN_* environment) holds the connection, the
theme and the last-used options; older files keep loading; one default model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog import Options
from gui.engine.config import (
    ENVIRONMENT,
    ClientConfig,
    load_client_config,
    save_client_config,
)
from gui.engine.settings import SettingsStore, default_model_id, default_settings
from gui.widgets import request_state


@pytest.fixture(autouse=True)
def _no_imagegen_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def test_one_file_holds_connection_theme_and_last_used_options(tmp_path: Path) -> None:
    path = tmp_path / "client.json"
    config = ClientConfig(data_dir=tmp_path / "data", theme="light", email="a@b.c")
    save_client_config(config, path)
    store = SettingsStore(path)
    chosen = Options("img-gpt-image-1-5", "3:4", 3, None, "high")
    store.save(chosen)
    # The dialog saves its copy made before the options changed: they survive it.
    save_client_config(config.model_copy(update={"upload_long_edge": 1024}), path)
    loaded = load_client_config(path)
    assert (loaded.theme, loaded.email, loaded.upload_long_edge) == ("light", "a@b.c", 1024)
    assert loaded.config_file == path and loaded.settings_file == path
    assert store.load() == chosen
    assert json.loads(path.read_text())["last_used"]["quality"] == "high"


def test_the_environment_overrides_the_file_only_when_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "client.json"
    path.write_text(json.dumps({"api_base_url": "https://file.example", "mode": "embedded"}))
    assert load_client_config(path).mode == "embedded"
    monkeypatch.setenv("IMAGEGEN_API_URL", "https://env.example/")
    monkeypatch.setenv("IMAGEGEN_EMAIL_CODE", "123456")  # the CLI's, not a setting
    loaded = load_client_config(path)
    assert (loaded.mode, loaded.api_base_url) == ("deployment", "https://env.example")
    # Made in code (tests, the dialog's copy), a config is exactly what it is given.
    made = ClientConfig(data_dir=tmp_path)
    assert (made.mode, made.api_base_url, made.config_file) == ("embedded", None, None)
    assert made.settings_file == tmp_path / "client.json"


def test_an_invalid_file_is_ignored_with_its_values_not_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "client.json"
    path.write_text(json.dumps({"upload_long_edge": 3, "theme": "neon", "email": "x@y.z"}))
    monkeypatch.setenv("IMAGEGEN_DATA_DIR", str(tmp_path / "d"))
    loaded = load_client_config(path)
    assert (loaded.upload_long_edge, loaded.theme, loaded.email) == (2048, "system", None)
    assert loaded.data_dir == tmp_path / "d"


def test_an_older_versions_settings_json_is_read_until_the_first_save(tmp_path: Path) -> None:
    legacy = tmp_path / "data" / "settings.json"
    legacy.parent.mkdir()
    legacy.write_text(json.dumps({"model": "img-kling-o1", "aspect_ratio": "21:9"}))
    config = ClientConfig(data_dir=tmp_path / "data")
    store = SettingsStore(config.settings_file, legacy_file=config.legacy_settings_path)
    assert store.load().model == "img-kling-o1" and store.load().aspect_ratio == "21:9"
    store.save(Options.defaults("img-reve"))
    legacy.write_text(json.dumps({"model": "img-kling-o1"}))  # no longer consulted
    assert store.load().model == "img-reve"
    assert json.loads(config.settings_file.read_text())["last_used"]["model"] == "img-reve"


def test_one_default_model() -> None:
    assert request_state.DEFAULT_MODEL == default_model_id() == default_settings().model
    assert request_state.initial_state().model == default_model_id()
    assert request_state.fit_to_model(request_state.initial_state(), "img-retired").model == (
        default_model_id()
    )
