"""Last-used settings and client config: stored values that no longer fit fall back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gui.engine.config import ENVIRONMENT, ClientConfig, load_client_config, save_client_config
from gui.engine.settings import LastUsedSettings, SettingsStore, default_settings


def test_round_trip(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "s.json")
    wanted = LastUsedSettings("img-gpt-image-1-5", "3:4", 3, None, "high")
    store.save(wanted)
    assert store.load() == wanted


def test_invalid_values_fall_back_to_the_models_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            {
                "model": "img-gpt-image-1",
                "aspect_ratio": "21:9",  # GPT-Image 1 has only 1:1, 4:3, 3:4
                "num_images": 99,
                "resolution": "4K",  # no resolution option
                "quality": "ultra",
            }
        )
    )
    # An older version's settings.json, read while client.json has no last-used options.
    loaded = SettingsStore(tmp_path / "client.json", legacy_file=path).load()
    assert loaded == LastUsedSettings("img-gpt-image-1", "1:1", 4, None, None)


def test_unknown_model_garbage_and_missing_file_give_defaults(tmp_path: Path) -> None:
    defaults = default_settings()
    path = tmp_path / "s.json"
    store = SettingsStore(tmp_path / "client.json", legacy_file=path)
    assert store.load() == defaults
    path.write_text('{"model": "img-retired", "num_images": 2}')
    assert store.load() == defaults
    path.write_text("{not json")
    assert store.load() == defaults
    path.write_text('["a list"]')
    assert store.load() == defaults
    path.write_text('{"model": "img-nano-banana-pro", "num_images": true, "resolution": "4K"}')
    assert store.load() == LastUsedSettings("img-nano-banana-pro", "1:1", 1, "4K", None)


def test_switching_model_keeps_only_what_fits() -> None:
    s = LastUsedSettings("img-kling-o1", "21:9", 4, "2K", None)
    assert s.for_model("img-nano-banana-pro") == LastUsedSettings(
        "img-nano-banana-pro", "21:9", 4, "2K", None
    )
    assert s.for_model("img-gpt-image-1-5") == LastUsedSettings(
        "img-gpt-image-1-5", "1:1", 4, None, "medium"
    )


def test_client_config_env_overrides_and_broken_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "client.json"
    path.write_text("{broken")
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    assert load_client_config(path).mode == "embedded"
    save_client_config(ClientConfig(email="a@b.c", static_token="secret", data_dir=tmp_path), path)
    assert "secret" not in path.read_text()  # tokens are never written to the file
    env = {
        "IMAGEGEN_API_URL": "https://api.example/",
        "IMAGEGEN_CONVEX_URL": "https://x.convex.cloud",
        "IMAGEGEN_TOKEN": "tok",
        "IMAGEGEN_DATA_DIR": str(tmp_path / "d"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = load_client_config(path)
    assert config.mode == "deployment" and config.api_base_url == "https://api.example"
    assert config.static_token == "tok" and config.email == "a@b.c"
    assert config.legacy_settings_path == tmp_path / "d" / "settings.json"
