"""The pure payload builders: coverage of the catalog, caps, branches and the docs table.

The exact body of every model at the HTTP layer is pinned in test_provider_fal.py,
test_provider_wavespeed.py and test_provider_azure.py; this file checks the rules across
all inputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.providers import doc
from backend.providers.base import ProviderRequest
from backend.providers.payloads import (
    BUILDERS,
    FAL_IMAGE_SIZE_ENUM,
    WAVESPEED_IMAGEN3_URL,
    build_payload,
    fal_call,
)
from catalog import MODELS, ModelSpec, get_model
from catalog.sizes import output_size

ROOT = Path(__file__).resolve().parents[2]


def model(model_id: str) -> ModelSpec:
    spec = get_model(model_id)
    assert spec is not None
    return spec


def make(
    model_id: str,
    *,
    ratio: str = "1:1",
    n: int = 1,
    urls: int = 0,
    resolution: str | None = None,
    quality: str | None = None,
) -> ProviderRequest:
    return ProviderRequest(
        prompt="p",
        model=model(model_id),
        aspect_ratio=ratio,
        num_images=n,
        resolution=resolution,
        quality=quality,
        attachment_urls=tuple(f"https://store.test/{i}.png" for i in range(urls)),
    )


def test_every_catalog_model_has_its_own_builder() -> None:
    assert set(BUILDERS) == set(MODELS)
    assert len(BUILDERS) == 23


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_endpoint_matches_the_catalog(model_id: str) -> None:
    spec = model(model_id)
    endpoint, body = build_payload(make(model_id, urls=spec.attachments.min))
    if spec.provider == "wavespeed":
        assert endpoint == WAVESPEED_IMAGEN3_URL
    else:
        assert endpoint == spec.endpoint
    assert body["prompt"] == "p"


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_fal_call_is_the_seed_shape(model_id: str) -> None:
    request = make(model_id, urls=model(model_id).attachments.min)
    endpoint, call = fal_call(request)
    assert call == {"input": build_payload(request)[1], "logs": True}
    assert endpoint == build_payload(request)[0]


@settings(max_examples=60, deadline=None)
@given(
    model_id=st.sampled_from(sorted(m.id for m in MODELS.values() if m.attachments.max > 1)),
    urls=st.integers(min_value=1, max_value=14),
    n=st.integers(min_value=1, max_value=8),
)
def test_reference_images_are_capped_at_ten(model_id: str, urls: int, n: int) -> None:
    endpoint, body = build_payload(make(model_id, urls=urls, n=n, ratio="1:1"))
    listed = body.get("image_urls", [body.get("image_url")])
    # Reve remix takes "between 1 and 6 images" (Fal's schema); every other endpoint 10.
    assert 1 <= len(listed) <= (6 if endpoint == "fal-ai/reve/remix" else 10)
    assert listed[0] == "https://store.test/0.png"


@pytest.mark.parametrize(("asked", "sent"), [(1, 1), (4, 4), (5, 4), (8, 4)])
def test_kling_and_imagen3_cap_images_at_four(asked: int, sent: int) -> None:
    _, kling = build_payload(make("img-kling-o1", n=asked, urls=1))
    _, imagen3 = build_payload(make("img-imagen3", n=asked))
    assert kling["num_images"] == sent
    assert imagen3["num_images"] == sent


def test_flux_kontext_uses_exactly_one_image() -> None:
    _, body = build_payload(make("img-flux-kontext-pro", urls=3))
    assert body["image_url"] == "https://store.test/0.png"
    assert "image_urls" not in body
    # fal-ai/flux-pro/kontext has no num_inference_steps input (the seed's 28 is dropped).
    assert body["guidance_scale"] == 6.5 and "num_inference_steps" not in body


@pytest.mark.parametrize("urls", [1, 2, 5, 10])
def test_reve_edit_picks_edit_or_remix(urls: int) -> None:
    endpoint, body = build_payload(make("img-reve-edit", urls=urls, ratio="16:9"))
    if urls == 1:
        assert endpoint == "fal-ai/reve/edit"
        assert body["image_url"] == "https://store.test/0.png"
        assert "aspect_ratio" not in body and "image_urls" not in body
    else:
        assert endpoint == "fal-ai/reve/remix"
        assert len(body["image_urls"]) == min(urls, 6)
        assert body["aspect_ratio"] == "16:9"
    assert body["sync_mode"] is True


@pytest.mark.parametrize("ratio", ["1:1", "4:3", "3:4", "16:9", "9:16"])
def test_size_mappings(ratio: str) -> None:
    _, v4 = build_payload(make("img-seedream-v4", ratio=ratio))
    width, height = output_size("img-seedream-v4", ratio, None)
    assert v4["image_size"] == {"width": width, "height": height}
    _, v4_edit = build_payload(make("img-seedream-v4-edit", ratio=ratio, urls=1))
    assert v4_edit["image_size"] == v4["image_size"] and v4_edit["sync_mode"] is False
    for model_id in ("img-seedream-v45", "img-flux-2-max", "img-wan-v22-a14b"):
        _, body = build_payload(make(model_id, ratio=ratio))
        assert body["image_size"] == FAL_IMAGE_SIZE_ENUM[ratio]


def test_seedream_v45_asks_for_exactly_num_images() -> None:
    # num_images generations of up to max_images each (Fal's schema): max_images is 1.
    for n in (1, 3, 4):
        _, body = build_payload(make("img-seedream-v45", n=n))
        assert (body["num_images"], body["max_images"]) == (n, 1)


def test_gpt_image_15_edit_size_is_auto_without_a_ratio() -> None:
    _, auto = build_payload(make("img-gpt-image-1-5-edit", ratio="", urls=1))
    _, mapped = build_payload(make("img-gpt-image-1-5-edit", ratio="3:4", urls=1))
    assert auto["image_size"] == "auto"
    assert mapped["image_size"] == "1024x1536"


def test_option_defaults_fill_missing_values() -> None:
    _, pro = build_payload(make("img-nano-banana-pro"))
    _, gpt = build_payload(make("img-gpt-image-1-5"))
    _, kling = build_payload(make("img-kling-o1", urls=1))
    assert pro["resolution"] == "1K"
    assert gpt["quality"] == "medium"
    assert kling["resolution"] == "1K"


def test_azure_quality_is_only_sent_when_given() -> None:
    _, plain = build_payload(make("img-gpt-image-1"))
    _, high = build_payload(make("img-gpt-image-1", quality="high"))
    assert "quality" not in plain
    assert high["quality"] == "high"


def test_builders_are_pure() -> None:
    request = make("img-seedream-v45-edit", urls=3, n=2)
    first = build_payload(request)
    first[1]["image_urls"].append("mutated")
    assert build_payload(request) != first
    assert len(build_payload(request)[1]["image_urls"]) == 3


def test_providers_doc_is_up_to_date() -> None:
    text = (ROOT / "docs" / "providers.md").read_text(encoding="utf-8")
    assert text == doc.render(), "run: python -m backend.providers.doc > docs/providers.md"
    for model_id in MODELS:
        assert f"| `{model_id}` |" in text
    assert "`fal-ai/reve/remix` (2+ images)" in text
