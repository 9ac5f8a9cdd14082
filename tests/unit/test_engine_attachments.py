"""Attachment preparation with real Pillow images: every refusal names the file."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from gui.engine.attachments import AttachmentError, prepare_attachment


def _png(size: tuple[int, int], mode: str = "RGB", color: object = "navy") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")  # type: ignore[arg-type]
    return out.getvalue()


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims huge dimensions (never decoded that far)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_photo_is_downscaled_to_the_long_edge_and_reencoded_as_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    path.write_bytes(_png((3000, 1200)))
    prepared = prepare_attachment(path, long_edge=1000)
    assert prepared.content_type == "image/jpeg"
    assert (prepared.width, prepared.height) == (1000, 400)
    assert Image.open(io.BytesIO(prepared.data)).size == (1000, 400)


def test_transparency_keeps_png_and_small_images_keep_their_size() -> None:
    prepared = prepare_attachment((_png((30, 20), "RGBA", (255, 0, 0, 100)), "logo.png"))
    assert prepared.content_type == "image/png"
    assert (prepared.width, prepared.height) == (30, 20)
    opaque = prepare_attachment((_png((30, 20), "RGBA", (255, 0, 0, 255)), "flat.png"))
    assert opaque.content_type == "image/jpeg"


def test_exif_orientation_is_applied() -> None:
    img = Image.new("RGB", (80, 40), "green")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    prepared = prepare_attachment((out.getvalue(), "phone.jpg"))
    assert (prepared.width, prepared.height) == (40, 80)


def test_same_content_has_the_same_hash_and_urls_pass_through() -> None:
    data = _png((10, 10))
    assert (
        prepare_attachment((data, "a.png")).content_hash
        == prepare_attachment((data, "b.png")).content_hash
    )
    url = prepare_attachment("http://127.0.0.1:9/files/uploads/x.png")
    assert url.url == "http://127.0.0.1:9/files/uploads/x.png" and url.data == b""


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"just some text, not an image", "notes.txt", "notes.txt is not an image"),
        (_png((200, 200))[:300], "cut.png", "cut.png is damaged or incomplete"),
        (_bomb_png(40_000, 40_000), "bomb.png", "bomb.png is too large to open safely"),
        (b"", "empty.png", "empty.png is empty"),
    ],
)
def test_bad_files_get_a_sentence_naming_them(data: bytes, name: str, expected: str) -> None:
    with pytest.raises(AttachmentError) as info:
        prepare_attachment((data, name))
    assert info.value.message.startswith(expected)


def test_bomb_between_one_and_two_times_the_limit_is_refused_too() -> None:
    with pytest.raises(AttachmentError, match="decompression bomb"):
        prepare_attachment((_png((100, 100)), "big.png"), max_pixels=5_000)


def test_oversized_and_missing_files(tmp_path: Path) -> None:
    big = tmp_path / "huge.png"
    big.write_bytes(_png((300, 300), color="white") + b"\0" * 5000)
    with pytest.raises(AttachmentError, match=r"huge\.png is .* MB; attachments can be at most"):
        prepare_attachment(big, max_bytes=1000)
    with pytest.raises(AttachmentError, match=r"gone\.png was not found"):
        prepare_attachment(tmp_path / "gone.png")
