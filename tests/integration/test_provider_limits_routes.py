"""The providers' own limits (issue 13), answered by the real server over HTTP.

Each limit is checked twice: the route refuses a request just past it with a 400 whose
sentence names the model's limit, and accepts one at it. The local provider renders the
providers' documented pixel sizes.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import dev_token
from tests.database_fixtures import BackendDatabases
from tests.integration.routes_support import (
    GENERATE_PATH,
    api_client,
    assert_error,
    generate_images,
    image_size,
    shared_backend_client,
    upload,
)


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, backend_database: BackendDatabases
) -> Iterator[httpx.Client]:
    data_dir = tmp_path_factory.mktemp("provider-limits")
    with shared_backend_client(
        data_dir, backend_database, rate_limit_generate=10_000, rate_limit_presign=10_000,
        local_queue_s=0.05, local_run_s=0.05,
    ) as c:  # fmt: skip
        yield c


@pytest.fixture(scope="module")
def ref(client: httpx.Client) -> list[dict[str, str]]:
    return [{"url": upload(client)}]


def refused(client: httpx.Client, body: dict[str, Any]) -> str:
    """The 400's sentence for ``body``."""
    answer = assert_error(client.post(GENERATE_PATH, json=body), 400, "invalid_request")
    message: str = answer["error"]
    return message


_users = itertools.count()


def fresh_user(client: httpx.Client) -> httpx.Client:
    """A client signed in as a new user (each accepted generation holds a slot and credits)."""
    base = str(client.base_url).rstrip("/")
    return api_client(base, dev_token(base, f"limits-{next(_users)}"))


def accepted(client: httpx.Client, body: dict[str, Any]) -> None:
    with fresh_user(client) as user:
        resp = user.post(GENERATE_PATH, json=body)
    assert resp.status_code == 200, resp.text


def test_kling_o1_prompts_stop_at_2500_characters(
    client: httpx.Client, ref: list[dict[str, str]]
) -> None:
    body = {"model": "img-kling-o1", "attachmentImages": ref}
    assert refused(client, {**body, "prompt": "x" * 2731}) == (
        "Kling O1 Image Edit prompts can be at most 2,500 characters; this one has 2,731."
    )
    accepted(client, {**body, "prompt": "x" * 2500})


@pytest.mark.parametrize("model_id", ["img-reve", "img-reve-edit"])
def test_reve_prompts_stop_at_2560_characters(
    client: httpx.Client, ref: list[dict[str, str]], model_id: str
) -> None:
    body: dict[str, Any] = {"model": model_id}
    if model_id == "img-reve-edit":
        body["attachmentImages"] = ref
    label = "Reve Edit" if model_id == "img-reve-edit" else "Reve"
    assert refused(client, {**body, "prompt": "y" * 2561}) == (
        f"{label} prompts can be at most 2,560 characters; this one has 2,561."
    )
    accepted(client, {**body, "prompt": "y" * 2560})


@pytest.mark.parametrize(
    ("model_id", "label", "shortest"),
    [
        ("img-nano-banana", "Nano Banana", 3),
        ("img-nano-banana-pro", "Nano Banana Pro", 3),
        ("img-imagen4-preview", "Imagen 4", 3),
        ("img-gpt-image-1-5", "GPT-Image 1.5", 2),
    ],
)
def test_short_prompts_below_the_providers_minimum(
    client: httpx.Client, model_id: str, label: str, shortest: int
) -> None:
    short = "z" * (shortest - 1)
    assert refused(client, {"model": model_id, "prompt": short}) == (
        f"{label} prompts need at least {shortest} characters; this one has {shortest - 1}."
    )
    accepted(client, {"model": model_id, "prompt": "z" * shortest})


def test_edit_models_check_the_minimum_too(client: httpx.Client, ref: list[dict[str, str]]) -> None:
    body = {"model": "img-nano-banana-edit", "prompt": " ab ", "attachmentImages": ref}
    assert refused(client, body) == (
        "Nano Banana Edit prompts need at least 3 characters; this one has 2."
    )
    body = {"model": "img-gpt-image-1-5-edit", "prompt": "x", "attachmentImages": ref}
    assert "at least 2 characters" in refused(client, body)


def test_reve_edit_takes_at_most_six_images_each_under_10_mb_for_remix(
    client: httpx.Client, ref: list[dict[str, str]]
) -> None:
    seven = [{"url": upload(client)} for _ in range(7)]
    body = {"model": "img-reve-edit", "prompt": "blend these"}
    assert refused(client, {**body, "attachmentImages": seven}) == (
        "Reve Edit takes at most 6 images; 7 images are attached."
    )
    accepted(client, {**body, "attachmentImages": seven[:6]})
    # The sizes are the stored files', whatever the client claims.
    big = {"url": upload(client, noise_png(1900, 1900))}
    sized = {**body, "attachmentImages": [seven[0], big], "attachmentSizes": [1, 1]}
    message = refused(client, sized)
    assert message.startswith(
        "Reve Edit (remix, 2 to 6 images) takes reference images under 10 MB each; image 2 is 10."
    ), message


def noise_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: about width * height * 3 bytes."""
    buf = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buf, "PNG")
    return buf.getvalue()


def test_imagen3_offers_only_wavespeeds_five_ratios(client: httpx.Client) -> None:
    body = {"model": "img-imagen3", "prompt": "a quiet harbour"}
    assert refused(client, {**body, "aspectRatio": "21:9"}) == (
        "Imagen 3 does not offer aspect ratio '21:9'; choose 1:1, 4:3, 3:4, 16:9 or 9:16."
    )
    for ratio in ("1:1", "16:9", "9:16", "4:3", "3:4"):
        accepted(client, {**body, "aspectRatio": ratio})


def test_seedream_edit_at_its_caps_is_within_the_providers_15(client: httpx.Client) -> None:
    ten = [{"url": upload(client)} for _ in range(10)]
    body = {"model": "img-seedream-v45-edit", "prompt": "a collage", "attachmentImages": ten}
    accepted(client, {**body, "numImages": 4})
    assert "1 to 4 images per request" in refused(client, {**body, "numImages": 6})


@pytest.mark.parametrize(
    ("model_id", "ratio", "size"),
    [
        ("img-nano-banana", "16:9", (1344, 768)),  # Google's Gemini 2.5 Flash Image table
        ("img-imagen4-preview", "16:9", (1408, 768)),  # Google's Imagen 4 table (1K)
        ("img-gpt-image-1-5", "4:3", (1536, 1024)),  # Fal's image_size enum
        ("img-flux-2-max", "4:3", (1024, 768)),  # Fal's landscape_4_3 preset
    ],
)
def test_the_local_provider_renders_the_providers_sizes(
    client: httpx.Client, model_id: str, ratio: str, size: tuple[int, int]
) -> None:
    body = {"model": model_id, "prompt": "a lighthouse", "aspectRatio": ratio, "numImages": 1}
    with fresh_user(client) as user:
        (url,) = generate_images(user, body)
        assert image_size(user, url) == size


def test_the_models_document_carries_the_limits(client: httpx.Client) -> None:
    models = {m["id"]: m for m in client.get("/api/mobile/models").json()["models"]}
    assert models["img-kling-o1"]["promptMaxLength"] == 2500
    assert models["img-reve"]["promptMaxLength"] == 2560
    assert models["img-nano-banana"]["promptMinLength"] == 3
    assert models["img-gpt-image-1-5"]["promptMinLength"] == 2
    assert models["img-flux-2-max"]["imagesPerCall"] == 1
    assert models["img-reve-edit"]["attachments"]["max"] == 6
    assert models["img-imagen3"]["aspectRatios"] == ["1:1", "4:3", "3:4", "16:9", "9:16"]
