"""Last-used generation settings, persisted like the web app keeps them.

The web remembers the model, aspect ratio, count, resolution and quality. A stored value
that no longer fits (a model removed from the catalog, a ratio the model does not offer, a
count above its maximum) falls back to the model's default rather than failing.

They live in the settings home (client.json's ``last_used``, gui/engine/config.py); a
``settings.json`` an older version left in the data folder is read while client.json has
none. ``default_model_id`` is the app's one default model.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from catalog import MODELS, Options, picker_models
from gui.engine.config import read_settings_file, update_settings_file

log = logging.getLogger(__name__)


def default_model_id() -> str:
    """The model a new user starts with (the prompt bar's, the settings' fallback)."""
    return picker_models()[0].id


# The remembered settings are the prompt bar's options; the file keeps their snake_case
# names (``dataclasses.asdict``), as it always has.
LastUsedSettings = Options


def default_settings(model_id: str | None = None) -> LastUsedSettings:
    """``model_id``'s defaults; the default model's when it is unknown or not given."""
    return Options.defaults(model_id if model_id and model_id in MODELS else default_model_id())


def sanitize(raw: Any) -> LastUsedSettings:
    """Settings from untrusted stored data; every invalid value becomes its default."""
    model_id = raw.get("model") if isinstance(raw, dict) else None
    if not isinstance(model_id, str) or model_id not in MODELS:
        return default_settings()
    count = raw.get("num_images")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        count = 1
    stored = Options(
        model=model_id,
        aspect_ratio=raw.get("aspect_ratio"),
        num_images=count,
        resolution=raw.get("resolution"),
        quality=raw.get("quality"),
    )
    return stored.for_model(stored.model)


class SettingsStore:
    """The last-used options in the settings file (``path``: a client.json); ``legacy_file``
    is an older version's settings.json, read until the first save. ``backend`` (a
    `ClientConfig.backend_key`) names whose session `last_session` remembers."""

    def __init__(
        self, path: Path, legacy_file: Path | None = None, backend: str = "embedded"
    ) -> None:
        self.path = Path(path)
        self.legacy_file = legacy_file
        self.backend = backend

    def load(self) -> LastUsedSettings:
        stored = read_settings_file(self.path).get("last_used")
        if stored is None and self.legacy_file is not None:
            stored = read_settings_file(self.legacy_file) or None
        return default_settings() if stored is None else sanitize(stored)

    def save(self, settings: LastUsedSettings) -> None:
        update_settings_file(self.path, {"last_used": asdict(sanitize(asdict(settings)))})

    def last_session(self) -> str | None:
        """The session the window showed last on this backend (it may be gone since)."""
        stored = read_settings_file(self.path).get("last_sessions")
        value = stored.get(self.backend) if isinstance(stored, dict) else None
        return value if isinstance(value, str) and value else None

    def remember_session(self, session_id: str) -> None:
        """Keep ``session_id`` as this backend's last viewed session (others' are kept)."""
        stored = read_settings_file(self.path).get("last_sessions")
        sessions = dict(stored) if isinstance(stored, dict) else {}
        if sessions.get(self.backend) != session_id:
            sessions[self.backend] = session_id
            update_settings_file(self.path, {"last_sessions": sessions})
