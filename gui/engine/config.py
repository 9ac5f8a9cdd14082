"""Client configuration: where the backend is and how to sign in.

Stored as JSON in the platformdirs user config dir; environment variables override the
file (IMAGEGEN_API_URL, IMAGEGEN_CONVEX_URL, IMAGEGEN_TOKEN, IMAGEGEN_DATA_DIR). The
static token is never written to the file: it comes from the environment or the CLI.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, Field, ValidationError

log = logging.getLogger(__name__)
APP_NAME = "imagegen-desktop"
CONFIG_FILE = "client.json"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / CONFIG_FILE


class ClientConfig(BaseModel):
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

    @property
    def settings_path(self) -> Path:
        return self.data_dir / "settings.json"

    @property
    def backend_data_dir(self) -> Path:
        return self.data_dir / "backend"


def apply_env(config: ClientConfig, env: Mapping[str, str]) -> ClientConfig:
    """``config`` with the IMAGEGEN_* environment variables applied on top."""
    update: dict[str, object] = {}
    if env.get("IMAGEGEN_API_URL"):
        update["api_base_url"] = env["IMAGEGEN_API_URL"].rstrip("/")
        update["mode"] = "deployment"
    if env.get("IMAGEGEN_CONVEX_URL"):
        update["convex_url"] = env["IMAGEGEN_CONVEX_URL"].rstrip("/")
    if env.get("IMAGEGEN_TOKEN"):
        update["static_token"] = env["IMAGEGEN_TOKEN"]
    if env.get("IMAGEGEN_DATA_DIR"):
        update["data_dir"] = Path(env["IMAGEGEN_DATA_DIR"])
    return config.model_copy(update=update) if update else config


def load_client_config(
    path: Path | None = None, env: Mapping[str, str] | None = None
) -> ClientConfig:
    """The stored config with the environment applied; a broken file falls back to defaults."""
    path = path or default_config_path()
    config = ClientConfig()
    if path.exists():
        try:
            config = ClientConfig.model_validate(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, ValidationError) as exc:
            log.warning("ignoring unreadable client config %s: %s", path, exc)
    return apply_env(config, os.environ if env is None else env)


def save_client_config(config: ClientConfig, path: Path | None = None) -> Path:
    path = path or default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(config.model_dump_json(indent=2), "utf-8")
    tmp.replace(path)  # atomic: a crash never leaves half a file
    return path
