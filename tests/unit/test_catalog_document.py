"""The JSON document, the edit-variant switch and the logo files."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from catalog import MODELS, catalog_document, edit_variant_for

LOGOS = Path(__file__).resolve().parents[2] / "resources" / "logos"


def test_document_is_json_and_lists_every_model_once() -> None:
    doc = json.loads(json.dumps(catalog_document()))
    assert doc["version"] == 1
    assert doc["aspectRatios"][:2] == ["21:9", "1:1"] and len(doc["aspectRatios"]) == 10
    ids = [m["id"] for m in doc["models"]]
    assert len(ids) == len(set(ids)) == 23
    # Hidden models come last and are flagged, not dropped.
    assert ids[-2:] == ["img-hunyuan-v21", "img-wan-v22-a14b"]
    assert [m["inPicker"] for m in doc["models"][-2:]] == [False, False]


def test_document_entry_shape() -> None:
    entry = next(m for m in catalog_document()["models"] if m["id"] == "img-nano-banana-pro")
    assert entry["attachments"] == {
        "min": 0, "max": 0, "maxFileBytes": None, "maxTotalImages": None, "modes": [],
    }  # fmt: skip
    assert (entry["promptMinLength"], entry["promptMaxLength"]) == (3, 4000)
    assert entry["imagesPerCall"] is None
    assert entry["outputSizes"] == {
        "exact": True, "source": "https://ai.google.dev/gemini-api/docs/image-generation",
    }  # fmt: skip
    assert entry["editVariant"] == "img-nano-banana-pro-edit" and entry["baseModel"] is None
    assert entry["defaults"] == {"aspectRatio": "1:1", "resolution": "1K", "quality": None}
    assert entry["pricing"] == [
        {"resolution": "1K", "costPerImage": 15},
        {"resolution": "2K", "costPerImage": 15},
        {"resolution": "4K", "costPerImage": 25},
    ]
    reve_edit = next(m for m in catalog_document()["models"] if m["id"] == "img-reve-edit")
    assert reve_edit["altEndpoints"] == {"remix": "fal-ai/reve/remix"}
    assert reve_edit["attachments"] == {
        "min": 1,
        "max": 6,
        "maxFileBytes": None,
        "maxTotalImages": None,
        "modes": [
            {"name": "edit", "endpoint": "fal-ai/reve/edit", "min": 1, "max": 1,
             "maxFileBytes": None},
            {"name": "remix", "endpoint": "fal-ai/reve/remix", "min": 2, "max": 6,
             "maxFileBytes": 10_000_000},
        ],
    }  # fmt: skip
    assert reve_edit["callType"] == "sync"
    assert reve_edit["promptMaxLength"] == 2560


def test_document_exposes_every_models_provider_limits() -> None:
    entries = {m["id"]: m for m in catalog_document()["models"]}
    for model_id, entry in entries.items():
        model = MODELS[model_id]
        assert entry["promptMinLength"] == model.prompt_min_length
        assert entry["promptMaxLength"] == model.prompt_max_length
        assert entry["imagesPerCall"] == model.images_per_call
        assert entry["attachments"]["maxTotalImages"] == model.attachments.max_total_images
        assert isinstance(entry["outputSizes"]["exact"], bool) and entry["outputSizes"]["source"]
    assert entries["img-kling-o1"]["promptMaxLength"] == 2500
    assert entries["img-gpt-image-1-5"]["promptMinLength"] == 2
    assert entries["img-flux-2-max"]["imagesPerCall"] == 1
    assert entries["img-wan-v22-a14b"]["imagesPerCall"] == 1
    assert entries["img-seedream-v45-edit"]["attachments"]["maxTotalImages"] == 15
    assert entries["img-imagen3"]["aspectRatios"] == ["1:1", "4:3", "3:4", "16:9", "9:16"]
    assert entries["img-kling-o1"]["outputSizes"] == {"exact": False, "source": "estimate"}


PAIRS = [
    ("img-nano-banana", "img-nano-banana-edit"),
    ("img-nano-banana-pro", "img-nano-banana-pro-edit"),
    ("img-seedream-v4", "img-seedream-v4-edit"),
    ("img-seedream-v45", "img-seedream-v45-edit"),
    ("img-gpt-image-1", "img-gpt-image-1-edit"),
    ("img-gpt-image-1-5", "img-gpt-image-1-5-edit"),
    ("img-flux-2-max", "img-flux-2-max-edit"),
    ("img-reve", "img-reve-edit"),
]


@pytest.mark.parametrize(("base", "edit"), PAIRS)
def test_edit_variant_switch(base: str, edit: str) -> None:
    assert edit_variant_for(base, 1) == edit
    assert edit_variant_for(base, 3) == edit
    assert edit_variant_for(base, 0) == base
    assert edit_variant_for(edit, 0) == base
    assert edit_variant_for(edit, 2) == edit


@pytest.mark.parametrize("model_id", ["img-kling-o1", "img-imagen4-preview", "img-unknown"])
def test_unpaired_models_never_switch(model_id: str) -> None:
    assert edit_variant_for(model_id, 0) == model_id
    assert edit_variant_for(model_id, 2) == model_id


def test_the_pairs_are_exactly_the_seeds_eight() -> None:
    assert {(m.id, m.edit_variant) for m in MODELS.values() if m.edit_variant} == set(PAIRS)


@pytest.mark.parametrize("logo", sorted({m.logo for m in MODELS.values()}))
def test_every_logo_named_in_the_catalog_is_a_valid_svg(logo: str) -> None:
    path = LOGOS / logo
    assert path.is_file(), f"missing logo {path}"
    root = ElementTree.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox")
