"""The variant maker on real Pillow images: sizes, alpha, orientation, odd modes, refusals."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from backend.image_variants_maker import (
    VariantError,
    _oriented_size,
    fit,
    image_size,
    make_variant,
    make_variants,
)
from backend.store.base import sniff_image_type
from catalog.image_variants import VARIANT_EDGES


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def two_tone(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: a turn or a flip shows where red ends up."""
    img = Image.new(mode, (width, height), "blue")
    img.paste("red", (0, 0, width // 2, height))
    return img


def test_a_4k_jpeg_gets_every_edge_at_its_proportions() -> None:
    made = make_variants(encode(two_tone(4096, 2304), "JPEG", quality=90))
    assert (made.width, made.height) == (4096, 2304)
    assert sorted(made.variants) == sorted(VARIANT_EDGES)
    expected = {256: (256, 144), 768: (768, 432), 1536: (1536, 864)}
    for edge, data in made.variants.items():
        assert sniff_image_type(data) == "image/webp"
        assert decode(data).size == expected[edge]
    # Red stays on the left, blue on the right, through the draft decode and each reduction.
    small = decode(made.variants[256]).convert("RGB")
    red, blue = small.getpixel((10, 72)), small.getpixel((245, 72))
    assert red[0] > 200 and red[2] < 60 and blue[2] > 200 and blue[0] < 60


def test_small_images_are_never_upscaled() -> None:
    made = make_variants(encode(two_tone(300, 200), "PNG"))
    assert decode(made.variants[256]).size == (256, 171)
    # 768 and 1536 are the image itself, re-encoded once and shared.
    assert decode(made.variants[768]).size == (300, 200)
    assert made.variants[1536] is made.variants[768]


def test_transparency_is_kept() -> None:
    img = Image.new("RGBA", (1000, 500), (255, 0, 0, 0))
    img.paste((0, 128, 0, 255), (500, 0, 1000, 500))
    small = decode(make_variants(encode(img, "PNG")).variants[256])
    assert small.mode == "RGBA"
    assert small.getpixel((10, 64))[3] == 0  # transparent half stays transparent
    assert small.getpixel((245, 64))[3] == 255


def test_exif_orientation_is_applied_and_reported() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown turned a quarter clockwise
    data = encode(two_tone(800, 400), "JPEG", exif=exif.tobytes())
    assert image_size(data) == (400, 800)
    made = make_variants(data)
    assert (made.width, made.height) == (400, 800)
    small = decode(made.variants[256]).convert("RGB")
    assert small.size == (128, 256)
    # The red left half is now on top.
    assert small.getpixel((64, 10))[0] > 200 and small.getpixel((64, 245))[2] > 200


def test_a_png_size_is_read_without_decoding_its_pixels() -> None:
    plain = encode(two_tone(1200, 600), "PNG")
    with Image.open(io.BytesIO(plain)) as img:
        calls = []
        original_load = img.load
        img.load = lambda: calls.append(1) or original_load()  # type: ignore[method-assign]
        assert _oriented_size(img) == (1200, 600)
        assert calls == []  # the header was enough
    # An eXIf chunk ahead of the pixels still turns the size.
    exif = Image.Exif()
    exif[0x0112] = 6
    turned = encode(two_tone(1200, 600), "PNG", exif=exif.tobytes())
    assert turned.index(b"eXIf") < turned.index(b"IDAT")
    assert image_size(turned) == (600, 1200)


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    img = Image.new("I", (600, 300), 32768).convert("I;16")  # half of 65535: mid grey
    assert img.getpixel((0, 0)) == 32768 and decode(encode(img, "PNG")).mode == "I;16"
    small = decode(make_variants(encode(img, "PNG")).variants[256]).convert("RGB")
    value = small.getpixel((100, 50))[0]
    assert 118 <= value <= 138


@pytest.mark.parametrize(
    ("img", "fmt", "params", "mode"),
    [
        (Image.new("CMYK", (400, 200), (0, 255, 255, 0)), "JPEG", {}, "RGB"),
        (Image.new("L", (400, 200), 90), "PNG", {}, "RGB"),
        (Image.new("1", (400, 200), 1), "PNG", {}, "RGB"),
        (Image.new("LA", (400, 200), (90, 40)), "PNG", {}, "RGBA"),
        (Image.new("RGB", (400, 200), "green").convert("P"), "GIF", {}, "RGB"),
        (Image.new("P", (400, 200), 0), "PNG", {"transparency": 0}, "RGBA"),
    ],
    ids=["cmyk-jpeg", "grey", "one-bit", "grey-alpha", "palette-gif", "palette-transparent"],
)
def test_other_modes_become_rgb_or_rgba(
    img: Image.Image, fmt: str, params: dict[str, object], mode: str
) -> None:
    small = decode(make_variant(encode(img, fmt, **params), 256))
    assert small.mode == mode and small.size == (256, 128)


def test_a_cmyk_jpeg_keeps_its_colour() -> None:
    red = decode(make_variant(encode(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG"), 256))
    r, g, b = red.convert("RGB").getpixel((32, 32))
    assert r > 200 and g < 60 and b < 60


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose (valid, checksummed) header claims ``width`` x ``height``: what a
    decompression bomb looks like before anything is decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)  # a few rows' worth: the rest never comes
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [10_000, 60_000])  # past our limit; past Pillow's too
def test_decompression_bombs_are_refused_with_a_sentence(side: int) -> None:
    with pytest.raises(VariantError, match=r"more .*than the \d+ we decode"):
        make_variants(_png_header_only(side, side))


def test_the_pixel_limit_is_the_callers_to_lower() -> None:
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    with pytest.raises(VariantError, match="100 x 100 pixels"):
        make_variants(data, max_pixels=5_000)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "no image data"),
        (b"<html>not an image</html>", "not an image we can read"),
        (encode(Image.new("RGB", (400, 200), "red"), "PNG")[:120], "damaged or truncated"),
    ],
    ids=["empty", "html", "truncated"],
)
def test_unreadable_input_gets_a_sentence(data: bytes, fragment: str) -> None:
    with pytest.raises(VariantError, match=fragment):
        make_variants(data)


def test_fit_keeps_proportions_and_never_enlarges() -> None:
    assert fit(4096, 4096, 256) == (256, 256)
    assert fit(1000, 3000, 768) == (256, 768)
    assert fit(100_000, 10, 256) == (256, 1)  # a sliver keeps at least one pixel
    assert fit(200, 100, 1536) == (200, 100)
