"""The vendored brand logos: each one the catalog names is there, is credited, and paints a
visible mark in Qt's SVG renderer; an unknown company gets the lettered tile."""

from __future__ import annotations

from importlib.resources import files

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

import resources
from catalog import MODELS
from gui.widgets import icons

LOGOS = sorted({m.logo for m in MODELS.values()})
# The tile is white; a mark is anything clearly darker or more colourful than that.
WHITE_ENOUGH = 235


def _marked_pixels(image: QImage) -> int:
    """Opaque pixels that are not the white tile, inside the tile's padded centre."""
    w, h = image.width(), image.height()
    count = 0
    for y in range(h // 5, h - h // 5):
        for x in range(w // 5, w - w // 5):
            c = image.pixelColor(x, y)
            if c.alpha() > 200 and min(c.red(), c.green(), c.blue()) < WHITE_ENOUGH:
                count += 1
    return count


@pytest.mark.parametrize("logo", LOGOS)
def test_each_catalog_logo_is_shipped_and_paints_a_mark(qapp: QApplication, logo: str) -> None:
    assert resources.logo(logo) is not None, f"{logo} is not in resources/logos/"
    assert icons.logo_renderer(logo) is not None, f"Qt cannot render {logo}"
    image = icons.logo_pixmap(logo, "Whoever", 32, 2.0).toImage()
    # A mark drawn with currentColor or a gradient must still show on the white tile.
    assert _marked_pixels(image) > 40, f"{logo} renders as a blank tile"


def test_an_unknown_company_gets_the_lettered_tile(qapp: QApplication) -> None:
    assert icons.logo_renderer("acme.svg") is None
    image = icons.logo_pixmap("acme.svg", "Acme", 32, 2.0).toImage()
    corner = image.pixelColor(image.width() // 2, image.height() // 8)
    assert corner.alpha() == 255
    assert (corner.red(), corner.green(), corner.blue()) != (255, 255, 255)  # not a logo tile


@pytest.mark.parametrize(
    "name", ["", "../cli.py", "../../gui/cli.py", "/etc/passwd", ".hidden.svg", "a\\b.svg"]
)
def test_only_bare_file_names_are_looked_up(name: str) -> None:
    assert resources.logo(name) is None


def test_the_logos_are_credited_with_their_licence_and_version() -> None:
    folder = files(resources) / "logos"
    readme = (folder / "README.md").read_text("utf-8")
    licence = (folder / "LICENSE").read_text("utf-8")
    assert "MIT License" in licence and "LobeHub" in licence
    assert "@lobehub/icons-static-svg" in readme and "1.95.1" in readme
    for logo in LOGOS:
        assert f"`{logo}`" in readme, f"{logo} has no source line in the README"
