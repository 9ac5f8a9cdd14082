"""The settings home: one model for what the user sets, kept in one file.

`ClientConfig` holds where the backend is, how to sign in, the upload size, the data folder,
the theme and the prompt bar's last-used options (``last_used``, read and written through
`gui.engine.settings.SettingsStore`). pydantic-settings layers it when it is loaded:
the IMAGEGEN_* environment over ``client.json`` (the platformdirs user config dir) over the
defaults. A `ClientConfig` made in code is exactly what it is given (tests, the dialog's
edited copy). The static token is never written to the file: it comes from the
environment or the CLI.

Files of older versions keep loading (migrate on read): ``settings.json`` in the data folder
held the last-used options (SettingsStore reads it while client.json has none); the theme
lived in QSettings (gui/widgets/theme.py moves it here once). Window geometry and the last
folder of the file dialog stay in QSettings: they are Qt's own state of its widgets.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

log = logging.getLogger(__name__)
APP_NAME = "imagegen-desktop"
CONFIG_FILE = "client.json"
LEGACY_SETTINGS_FILE = "settings.json"  # the last-used options before client.json held them
Theme = Literal["system", "dark", "light"]

# The documented variables (README, docs/architecture.md), and only these: IMAGEGEN_PASSWORD
# and IMAGEGEN_EMAIL_CODE belong to `imagegen generate`'s sign-in, not to the settings.
ENVIRONMENT = {
    "IMAGEGEN_API_URL": "api_base_url",
    "IMAGEGEN_CONVEX_URL": "convex_url",
    "IMAGEGEN_TOKEN": "static_token",
    "IMAGEGEN_DATA_DIR": "data_dir",
}


class ConfigurationError(Exception):
    """The client is not configured well enough to start; the message says what to set."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / CONFIG_FILE


class ClientConfig(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    # "embedded": start the backend in-process; "deployment": use api_base_url/convex_url.
    mode: Literal["embedded", "deployment"] = "embedded"
    api_base_url: str | None = None
    convex_url: str | None = None
    # Sign-in for a deployment: a static token, or Clerk (frontend API URL + email).
    static_token: str | None = Field(default=None, exclude=True)
    clerk_frontend_url: str | None = None
    email: str | None = None
    # Embedded mode: the dev user the token endpoint signs for (None: the backend default).
    user_id: str | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    upload_long_edge: int = Field(default=2048, ge=64, le=8192)
    theme: Theme = "system"
    # The prompt bar's options as SettingsStore saved them; it sanitises them when read
    # (a model may have left the catalog since), so here they are plain data.
    last_used: dict[str, Any] | None = None
    # The session the window showed last, per backend (`backend_key`): the next start opens
    # it again. Written and checked by SettingsStore, so an odd value here never makes the
    # whole file invalid.
    last_sessions: dict[str, Any] | None = None
    # Where this configuration was loaded from and is saved to (None: made in code).
    config_file: Path | None = Field(default=None, exclude=True)

    @field_validator("api_base_url", "convex_url")
    @classmethod
    def _no_trailing_slash(cls, url: str | None) -> str | None:
        return url.rstrip("/") if url else url

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Loaded (``config_file`` given): the environment over the file. Made in code:
        exactly what it is given."""
        given = getattr(init_settings, "init_kwargs", {})
        if given.get("config_file") is None:
            return (init_settings,)
        return (
            init_settings,
            ImagegenEnvironment(settings_cls, os.environ),
            ClientFile(settings_cls, Path(given["config_file"])),
        )

    @property
    def settings_file(self) -> Path:
        """Where settings are saved: the loaded file, else (made in code) the data folder's."""
        return self.config_file or self.data_dir / CONFIG_FILE

    @property
    def legacy_settings_path(self) -> Path:
        """The last-used options as versions before client.json kept them."""
        return self.data_dir / LEGACY_SETTINGS_FILE

    @property
    def backend_key(self) -> str:
        """Which backend this is, for what is kept per backend (a session id means nothing
        to another deployment)."""
        if self.mode == "embedded":
            return "embedded"
        return f"{self.api_base_url}|{self.convex_url}"

    @property
    def backend_data_dir(self) -> Path:
        return self.data_dir / "backend"


class ImagegenEnvironment(PydanticBaseSettingsSource):
    """The IMAGEGEN_* variables of ``ENVIRONMENT``; an API URL means a deployment."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ answers for every field at once

    def __call__(self) -> dict[str, Any]:
        env = self.environ
        values: dict[str, Any] = {f: env[name] for name, f in ENVIRONMENT.items() if env.get(name)}
        if "api_base_url" in values:
            values["mode"] = "deployment"
        return values


class ClientFile(PydanticBaseSettingsSource):
    """client.json; a file that is unreadable or holds invalid values is ignored as a whole
    (with a warning), so the app still starts on its defaults."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ answers for every field at once

    def __call__(self) -> dict[str, Any]:
        stored = read_settings_file(self.path)
        try:
            ClientConfig.model_validate(stored)  # validation only: no sources run here
        except ValidationError as exc:
            log.warning("ignoring invalid client config %s: %s", self.path, exc)
            return {}
        return stored


def read_settings_file(path: Path) -> dict[str, Any]:
    """The file's JSON object; {} when it is missing or unreadable."""
    try:
        stored = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable client config %s: %s", path, exc)
        return {}
    if not isinstance(stored, dict):
        log.warning("ignoring client config %s: it is not a JSON object", path)
        return {}
    return stored


def update_settings_file(path: Path, values: Mapping[str, Any]) -> Path:
    """Write ``values`` into the file, keeping every other key: the dialog's save and the
    prompt bar's last-used options each replace only their own part."""
    stored = {**read_settings_file(path), **values}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stored, indent=2, default=str), "utf-8")
    tmp.replace(path)  # atomic: a crash never leaves half a file
    return path


def load_client_config(path: Path | None = None) -> ClientConfig:
    """client.json (``path``, default: the user config dir) with the environment on top."""
    return ClientConfig(config_file=path or default_config_path())


def save_client_config(config: ClientConfig, path: Path | None = None) -> Path:
    """Save what the Settings dialog edits (never the token, never the last-used options
    nor the last session: those are the window's, saved as they change)."""
    values = config.model_dump(mode="json", exclude={"last_used", "last_sessions"})
    return update_settings_file(path or config.settings_file, values)
