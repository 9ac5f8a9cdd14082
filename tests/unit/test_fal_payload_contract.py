"""Every Fal payload, for every option combination of every Fal model, against Fal's schema.

The schemas are Fal's own published input/output types, vendored with their source in
tests/data/fal_schemas/ (README.md there). For each model in the catalog and each
combination it offers (aspect ratios x image counts x resolutions x qualities x reference
counts within its limits, as catalog.normalize turns them into the request the route
hands to the provider), the fan-out plan is built (fanout.py: one call per image where an
endpoint answers one image), each call's body is built with payloads.py, and it must:

* validate against the endpoint's input schema (types, enums, required fields, min/max);
* send only properties the schema declares (the schemas have no ``additionalProperties``,
  so every object is checked as if it were ``false``);
* respect the limits Fal states only in a field's description (pinned below);
* add up to exactly the number of images asked for (requested = delivered).
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from backend.providers.base import ProviderRequest
from backend.providers.fanout import call_plan
from backend.providers.outputs import fal_images
from backend.providers.payloads import build_payload
from catalog import MODELS, ModelSpec, normalize

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "fal_schemas"
INDEX: dict[str, Any] = json.loads((SCHEMAS / "index.json").read_text())
SOURCE_COMMIT = "53241327a7e17ad9f964eb904a9769299cccaf58"
FAL_MODELS = [m for m in MODELS.values() if m.provider == "fal"]
PROMPT = "a lighthouse at dusk, oil painting"
URLS = tuple(f"https://store.test/files/u/{i}.png" for i in range(16))

# Limits Fal states only in a field's description: (endpoint, field) -> (max, words quoted).
DESCRIBED_MAX_ITEMS: dict[tuple[str, str], tuple[int, str]] = {
    ("fal-ai/reve/remix", "image_urls"): (6, "between 1 and 6 images"),
    ("fal-ai/kling-image/o1", "image_urls"): (10, "Max 10 images"),
    ("fal-ai/bytedance/seedream/v4/edit", "image_urls"): (10, "up to 10 image inputs"),
    ("fal-ai/bytedance/seedream/v4.5/edit", "image_urls"): (10, "up to 10 image inputs"),
}
# Seedream v4.5 edit: "image inputs + image outputs must not exceed 15" (max_images text).
SEEDREAM_V45_EDIT_TOTAL = 15


@cache
def schema_file(endpoint: str) -> dict[str, Any]:
    name = INDEX["endpoints"][endpoint]
    data: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    assert data["endpoint"] == endpoint
    return data


def _closed(node: Any) -> Any:
    """A copy where every object schema with declared properties rejects any other key."""
    if isinstance(node, dict):
        out = {k: _closed(v) for k, v in node.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(v) for v in node]
    return node


@cache
def input_validator(endpoint: str) -> Draft202012Validator:
    schema = _closed(copy.deepcopy(schema_file(endpoint)["input"]))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def input_properties(endpoint: str) -> dict[str, Any]:
    properties: dict[str, Any] = schema_file(endpoint)["input"]["properties"]
    return properties


def endpoints_of(model: ModelSpec) -> list[str]:
    return [model.endpoint, *model.alt_endpoints.values()]


def _options(model: ModelSpec) -> list[tuple[Any, ...]]:
    """(ratio, images, resolution, quality, references): every combination the catalog
    offers, within its limits (Seedream edits: references + images <= 15)."""
    rule = model.attachments
    combinations = itertools.product(
        model.aspect_ratios or (None,),
        range(1, model.max_images + 1),
        model.resolutions or (None,),
        model.qualities or (None,),
        range(rule.min, rule.max + 1),
    )
    total = rule.max_total_images
    return [c for c in combinations if total is None or c[4] + c[1] <= total]


def _request(model: ModelSpec, options: tuple[Any, ...], prompt: str = PROMPT) -> ProviderRequest:
    """What the generate route hands the provider for these options (catalog.normalize)."""
    ratio, n, resolution, quality, refs = options
    body: dict[str, Any] = {"prompt": prompt, "model": model.id, "numImages": n}
    if ratio is not None:
        body["aspectRatio"] = ratio
    if resolution is not None:
        body["resolution"] = resolution
    if quality is not None:
        body["quality"] = quality
    if refs:
        body["attachmentImages"] = [{"url": u} for u in URLS[:refs]]
    normalized = normalize(body)
    assert normalized.model.id == model.id and normalized.num_images == n
    return ProviderRequest.from_input(normalized, normalized.attachment_urls)


def _images_per_body(endpoint: str, body: dict[str, Any]) -> int:
    """How many images one call with ``body`` answers, by the endpoint's schema."""
    properties = input_properties(endpoint)
    if "num_images" not in properties:
        return 1
    return int(body.get("num_images", properties["num_images"].get("default", 1)))


def _problems(model: ModelSpec, options: tuple[Any, ...]) -> list[str]:
    request = _request(model, options)
    problems: list[str] = []
    delivered = 0
    for per_call in call_plan(model, request.num_images):
        endpoint, body = build_payload(replace(request, num_images=per_call))
        label = f"{model.id} {options} -> {endpoint}"
        if endpoint not in INDEX["endpoints"]:
            return [f"{label}: no vendored schema"]
        problems += [
            f"{label}: {'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}"
            for e in input_validator(endpoint).iter_errors(body)
        ]
        unknown = set(body) - set(input_properties(endpoint))
        if unknown:
            problems.append(f"{label}: undeclared properties {sorted(unknown)}")
        for (limited, field), (most, _) in DESCRIBED_MAX_ITEMS.items():
            if limited == endpoint and len(body.get(field, ())) > most:
                problems.append(f"{label}: {field} has more than {most} items")
        if body.get("max_images", 1) != 1:
            # Seedream: num_images generations of *up to* max_images each; only 1 is exact.
            problems.append(f"{label}: max_images {body['max_images']} asks for up to N x M")
        if endpoint == "fal-ai/bytedance/seedream/v4.5/edit":
            total = len(body["image_urls"]) + body["num_images"] * body.get("max_images", 1)
            if total > SEEDREAM_V45_EDIT_TOTAL:
                problems.append(f"{label}: {total} images in + out (Fal allows 15)")
        delivered += _images_per_body(endpoint, body)
    if delivered != request.num_images:
        problems.append(f"{model.id} {options}: {delivered} images for {request.num_images}")
    return problems


def test_the_vendored_schemas_name_their_source() -> None:
    assert INDEX["source"]["repo"] == "fal-ai/fal-js"
    assert INDEX["source"]["commit"] == SOURCE_COMMIT
    readme = (SCHEMAS / "README.md").read_text()
    for fact in ("fal-ai/fal-js", "libs/client/src/types/image/zod.gen.ts", SOURCE_COMMIT):
        assert fact in readme
    assert "2026-02-03" in readme


def test_every_fal_endpoint_of_the_catalog_has_a_schema() -> None:
    used = {e for m in FAL_MODELS for e in endpoints_of(m)}
    assert used <= set(INDEX["endpoints"])
    assert len(FAL_MODELS) == 20


@pytest.mark.parametrize("model", FAL_MODELS, ids=lambda m: m.id)
def test_every_option_combination_validates(model: ModelSpec) -> None:
    combinations = list(_options(model))
    assert combinations
    problems = [p for options in combinations for p in _problems(model, options)]
    assert not problems, f"{len(problems)} problems, first ones:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("model", FAL_MODELS, ids=lambda m: m.id)
def test_the_prompt_fits_the_schema_at_the_catalog_limits(model: ModelSpec) -> None:
    # The shortest and longest prompt the catalog lets through, with every reference mode.
    rule = model.attachments
    counts = {rule.min, rule.max} | {m.min for m in rule.modes}
    for length in (model.prompt_min_length, model.prompt_max_length):
        for refs in sorted(counts):
            options = (model.default_aspect_ratio, 1, None, None, refs)
            request = _request(model, options, prompt="x" * length)
            endpoint, body = build_payload(request)
            errors = [e.message for e in input_validator(endpoint).iter_errors(body)]
            assert not errors, f"{model.id}: a {length}-character prompt: {errors}"


def test_endpoints_without_num_images_are_fanned_out() -> None:
    for model in FAL_MODELS:
        takes_count = ["num_images" in input_properties(e) for e in endpoints_of(model)]
        if not any(takes_count):
            assert model.images_per_call == 1, model.id
            assert call_plan(model, 4) == [1, 1, 1, 1]
        else:
            assert all(takes_count) and model.images_per_call is None, model.id
            assert call_plan(model, 3) == [3], model.id


def test_reference_modes_match_their_endpoints() -> None:
    for model in FAL_MODELS:
        for mode in model.attachments.modes:
            for refs in (mode.min, mode.max):
                options = (model.default_aspect_ratio, 1, None, None, refs)
                assert build_payload(_request(model, options))[0] == mode.endpoint


def test_the_described_limits_are_still_in_the_schemas() -> None:
    for (endpoint, field), (_, words) in DESCRIBED_MAX_ITEMS.items():
        assert words in input_properties(endpoint)[field]["description"], (endpoint, field)
    seedream = input_properties("fal-ai/bytedance/seedream/v4.5/edit")["max_images"]
    assert "must not exceed 15" in seedream["description"]


def _sample(node: dict[str, Any], name: str = "") -> Any:
    """A minimal instance of an output schema: required fields only, image URLs filled."""
    kind = node.get("type")
    if "anyOf" in node:
        return _sample(node["anyOf"][0], name)
    if kind == "object":
        fields = node.get("properties", {})
        return {k: _sample(fields[k], k) for k in node.get("required", [])}
    if kind == "array":
        return [_sample(node["items"], name)] if name == "images" else []
    if kind == "string":
        return "https://v3.fal.media/files/out/1.png" if name == "url" else "x"
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return False
    return None


@pytest.mark.parametrize("endpoint", sorted(INDEX["endpoints"]))
def test_the_documented_answer_is_read(endpoint: str) -> None:
    output = schema_file(endpoint)["output"]
    answer = _sample(output)
    Draft202012Validator(output).validate(answer)
    images = fal_images(answer)
    assert [i.url for i in images] == ["https://v3.fal.media/files/out/1.png"]


def test_wan_answers_a_single_image_and_it_is_read() -> None:
    output = schema_file("fal-ai/wan/v2.2-a14b/text-to-image")["output"]
    assert "images" not in output["properties"] and "image" in output["required"]
    answer = {"image": {"url": "https://v3.fal.media/files/w.png"}, "seed": 7}
    Draft202012Validator(output).validate(answer)
    assert [i.url for i in fal_images(answer)] == ["https://v3.fal.media/files/w.png"]
