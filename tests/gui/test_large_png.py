"""Issue 14, item 4: a valid 16-bit 8000x8000 PNG is accepted by the attachment strip, as
`imagegen generate --image` accepts it; a truly broken file gets its own, accurate sentence.

Qt decodes a PNG whole before scaling it and refuses anything over its 256 MB allocation
limit: a 16-bit RGB 8000x8000 PNG needs 512 MB as RGBA64 (a 16-bit grey one 128 MB, which
Qt reads). Both must be accepted; Pillow writes the grey one, the RGB one is written here.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from gui.engine.attachments import prepare_attachment
from gui.widgets.attachment_strip import AttachmentStrip
from gui.widgets.image_probe import read_image

EDGE = 256


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png16_rgb(path: Path, side: int = 8000) -> Path:
    """A valid 16-bit RGB PNG (colour type 2), black, compressed row by row."""
    row = b"\0" + bytes(side * 6)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("large")
    grey = folder / "grey16.png"
    Image.new("I;16", (8000, 8000)).save(grey)
    rgb = png16_rgb(folder / "rgb16.png")
    truncated = folder / "truncated.png"
    truncated.write_bytes(rgb.read_bytes()[: rgb.stat().st_size // 2])
    text = folder / "notes.png"
    text.write_text("not a picture")
    return {"grey": grey, "rgb": rgb, "truncated": truncated, "text": text}


@pytest.fixture
def strip(qtbot) -> AttachmentStrip:
    strip = AttachmentStrip()
    qtbot.addWidget(strip)
    strip.show()
    return strip


def test_the_strip_accepts_a_16_bit_8000px_png_as_the_engine_does(qtbot, files, strip) -> None:
    rejected: list[str] = []
    strip.rejected.connect(rejected.append)
    assert prepare_attachment(files["rgb"]).width == 2048  # the engine takes it
    assert strip.add_files([files["rgb"]]) == 1, rejected
    # Shown at once, decoded off the GUI thread: its thumbnail can only arrive through the
    # event loop, which has not run since.
    assert strip.attachments()[0].thumb.isNull()
    assert strip.wait_for_thumbnails()
    assert rejected == []
    thumb = strip.attachments()[0].thumb
    assert not thumb.isNull() and max(thumb.width(), thumb.height()) <= 4 * EDGE


def test_a_truncated_file_gets_its_own_accurate_sentence(qtbot, files, strip) -> None:
    rejected: list[str] = []
    strip.rejected.connect(rejected.append)
    # Not an image: said at once, from the header. Damaged further in: said (and the
    # picture removed) once its decoding finds it.
    assert strip.add_files([files["truncated"], files["text"]]) == 1
    assert len(rejected) == 1 and "“notes.png” is not an image" in rejected[0]
    assert strip.wait_for_thumbnails()
    assert strip.rows() == 0 and len(rejected) == 2
    assert "“truncated.png” is damaged or incomplete" in rejected[1]
    assert "truncated" in rejected[1].split("(", 1)[1]  # the reason, in Pillow's words


@pytest.mark.parametrize("name", ["grey", "rgb"])
def test_read_image_scales_16_bit_giants_to_the_edge(files, name: str) -> None:
    image, error = read_image(files[name], EDGE)
    assert error == "" and image is not None
    assert (image.width(), image.height()) == (EDGE, EDGE)


def test_read_image_names_each_problem_differently(files, monkeypatch) -> None:
    sentences = {name: read_image(files[name], EDGE)[1] for name in ("truncated", "text")}
    assert "damaged or incomplete" in sentences["truncated"]
    assert "is not an image" in sentences["text"]
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000_000)  # the engine's limit, lowered
    assert "8000 × 8000 pixels" in read_image(files["rgb"], EDGE)[1]
