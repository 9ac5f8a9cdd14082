"""Data files shipped with the application, found with importlib.resources so a wheel, a
pipx install and a PyInstaller bundle all read them from wherever the package landed.

`logos/` holds the providers' logos (vendored, see logos/README.md); `app/` the
application's own icon.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

APP_ICON_NAME = "imagegen.svg"


def logo(name: str) -> Traversable | None:
    """The logo file called ``name`` (e.g. "google.svg"), or None when there is none.

    Only a bare file name is looked up: a catalog fetched from a server must not be able
    to point the renderer at another file on disk."""
    if not name or name != name.strip() or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = files(__name__) / "logos" / name
    return path if path.is_file() else None


def app_icon() -> Traversable:
    """The application icon (SVG): the window icon and the desktop entry's icon."""
    return files(__name__) / "app" / APP_ICON_NAME
