"""The local provider's Pillow renderer: exact sizes, formats, attachments, determinism."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from backend.providers.local_render import _param_line, output_content_type, render_image
from catalog import MODELS, ModelSpec
from catalog.sizes import output_size

RED = (255, 0, 0)


def png_bytes(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def render(model: ModelSpec, size: tuple[int, int], **kw: object) -> bytes:
    args: dict[str, object] = {
        "prompt": "a lighthouse on a cliff at dusk",
        "model": model,
        "width": size[0],
        "height": size[1],
        "index": 1,
        "total": 1,
        "params": {"aspect_ratio": "1:1"},
        "attachments": [],
    }
    args.update(kw)
    return render_image(**args)  # type: ignore[arg-type]


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def red_pixels(img: Image.Image) -> list[tuple[int, int]]:
    """Coordinates of clearly red pixels (JPEG-tolerant), on a 4x4 sampling grid."""
    rgb = img.convert("RGB")
    px = rgb.load()
    assert px is not None
    found = []
    for y in range(0, rgb.height, 4):
        for x in range(0, rgb.width, 4):
            r, g, b = px[x, y]  # type: ignore[misc]
            if r > 220 and g < 40 and b < 40:
                found.append((x, y))
    return found


@pytest.mark.parametrize("model_id", list(MODELS))
def test_every_model_renders_at_its_exact_size(model_id: str) -> None:
    model = MODELS[model_id]
    ratio = "3:4" if "3:4" in model.aspect_ratios else model.default_aspect_ratio
    size = output_size(model_id, ratio, model.default_resolution)
    attachments = [png_bytes((64, 48), RED)] if model.is_edit else []
    data = render(model, size, params={"aspect_ratio": ratio}, attachments=attachments)
    img = decode(data)
    assert img.size == size
    expected_format = "JPEG" if output_content_type(model_id, *size) == "image/jpeg" else "PNG"
    assert img.format == expected_format
    # Not a flat placeholder: a real gradient with many colours.
    assert len(img.convert("RGB").resize((64, 64)).getcolors(4096) or []) > 50


def test_a_4k_render_is_exact_and_jpeg() -> None:
    model = MODELS["img-nano-banana-pro"]
    size = output_size(model.id, "16:9", "4K")
    assert size == (5504, 3072)  # Google's Gemini 3 Pro Image table
    img = decode(render(model, size, params={"aspect_ratio": "16:9", "resolution": "4K"}))
    assert img.size == size
    assert img.format == "JPEG"  # over 4 MP: JPEG for speed


def test_an_estimated_size_is_marked_on_the_card() -> None:
    # Sizes no provider documents (catalog.sizes exact=False) read "~1024x576".
    assert _param_line(1024, 576, {"aspect_ratio": "16:9"}, exact=False) == "~1024x576 · 16:9"
    assert _param_line(1408, 768, {"aspect_ratio": "16:9"}) == "1408x768 · 16:9"
    model = MODELS["img-reve"]
    data = render(model, (1024, 576), params={"aspect_ratio": "16:9"}, exact_size=False)
    assert decode(data).size == (1024, 576)


def test_flux_2_max_is_jpeg_even_when_small() -> None:
    assert output_content_type("img-flux-2-max", 1024, 1024) == "image/jpeg"
    assert output_content_type("img-flux-2-max-edit", 1024, 1024) == "image/jpeg"
    assert output_content_type("img-imagen4-preview", 1024, 1024) == "image/png"
    assert output_content_type("img-seedream-v4", 2048, 2048) == "image/jpeg"


def test_edit_models_compose_the_attachments_in() -> None:
    model = MODELS["img-seedream-v45-edit"]
    size = (1024, 1024)
    with_red = decode(render(model, size, attachments=[png_bytes((200, 150), RED)]))
    without = decode(render(model, size, attachments=[]))
    assert len(red_pixels(with_red)) > 500
    assert red_pixels(without) == []


def test_several_attachments_each_get_a_tile() -> None:
    model = MODELS["img-kling-o1"]
    colours = [(255, 0, 0), (0, 0, 255)]
    data = render(model, (1024, 1024), attachments=[png_bytes((80, 80), c) for c in colours])
    rgb = decode(data).convert("RGB")
    small = rgb.resize((256, 256), Image.Resampling.NEAREST)
    seen = {c for _, c in small.getcolors(65536) or []}
    assert (255, 0, 0) in seen and (0, 0, 255) in seen


def test_attachments_are_exif_transposed() -> None:
    # A landscape JPEG whose EXIF says "rotate 90°": it must appear as a portrait tile.
    raw = Image.new("RGB", (300, 100), RED)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    raw.save(buf, "JPEG", exif=exif, quality=95)
    img = decode(render(MODELS["img-flux-kontext-pro"], (1024, 1024), attachments=[buf.getvalue()]))
    pts = red_pixels(img)
    assert pts
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    assert (max(ys) - min(ys)) > 2 * (max(xs) - min(xs))


def test_an_unreadable_attachment_becomes_a_placeholder_not_a_crash() -> None:
    model = MODELS["img-reve-edit"]
    img = decode(render(model, (1024, 1024), attachments=[b"not an image at all"]))
    assert img.size == (1024, 1024)


def test_same_prompt_same_image_different_prompt_different_image() -> None:
    model = MODELS["img-imagen4-preview"]
    a1 = render(model, (512, 512), prompt="a red fox in snow")
    a2 = render(model, (512, 512), prompt="a red fox in snow")
    b = render(model, (512, 512), prompt="a neon city street at night")
    assert a1 == a2

    def mean_colour(data: bytes) -> tuple[int, ...]:
        return tuple(
            decode(data).convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        )  # type: ignore[arg-type]

    assert mean_colour(a1) != mean_colour(b)


def test_images_of_one_request_differ_by_index() -> None:
    model = MODELS["img-imagen4-preview"]
    first = render(model, (512, 512), index=1, total=2)
    second = render(model, (512, 512), index=2, total=2)
    assert first != second


@pytest.mark.parametrize(
    "prompt",
    ["", "word " * 2000, "x" * 3000, "emoji 🎨 and ünïcödé ✓ text"],
    ids=["empty", "many-words", "one-huge-word", "unicode"],
)
def test_awkward_prompts_render(prompt: str) -> None:
    img = decode(render(MODELS["img-reve"], (1024, 432), prompt=prompt))
    assert img.size == (1024, 432)


def test_invalid_size_is_rejected() -> None:
    with pytest.raises(ValueError):
        render(MODELS["img-reve"], (0, 100))
