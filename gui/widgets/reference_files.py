"""Choosing reference image files: where the file dialog starts, and remembering it.

The dialog opens in the folder the user last took references from; the first time in
their Pictures folder (QStandardPaths.PicturesLocation), else their home folder — never
the app's working directory. The folder is kept in QSettings, so it survives restarts.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.gif *.bmp)"
SETTINGS_KEY = "references/last_folder"


def default_folder() -> Path:
    """The user's Pictures folder when it exists, else their home folder."""
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    if pictures and Path(pictures).is_dir():
        return Path(pictures)
    home = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.HomeLocation)
    return Path(home) if home else Path.home()


class ReferenceFolder:
    """Where the reference file dialog starts; remembers the last folder used."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self._settings = settings

    def _store(self) -> QSettings:
        return self._settings or QSettings("imagegen-desktop", "imagegen")

    def start(self) -> Path:
        saved = self._store().value(SETTINGS_KEY, "")
        if isinstance(saved, str) and saved and Path(saved).is_dir():
            return Path(saved)
        return default_folder()

    def remember(self, chosen: list[Path]) -> None:
        if chosen:
            self._store().setValue(SETTINGS_KEY, str(chosen[0].parent))


def choose_reference_files(parent: QWidget | None, folder: ReferenceFolder) -> list[Path]:
    """Ask for image files, starting in `folder`; the files chosen (none on cancel)."""
    names, _ = QFileDialog.getOpenFileNames(
        parent, "Add reference images", str(folder.start()), IMAGE_FILTER
    )
    paths = [Path(n) for n in names]
    folder.remember(paths)
    return paths
