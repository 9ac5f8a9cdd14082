"""Every model of the catalog, end to end through the local provider over real HTTP.

Sync models answer with images at once; queued ones go through the status route. Edit
models get real uploads (presign + PUT). Each output is downloaded and opened with Pillow
to check the exact pixel size the model and options imply.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from catalog import MODEL_IDS, get_model
from catalog.sizes import output_size
from tests.database_fixtures import BackendDatabases
from tests.integration.routes_support import (
    GENERATE_PATH,
    image_size,
    png_bytes,
    resolve,
    shared_backend_client,
    upload,
)

# A non-square ratio where the model has one, so width and height are both checked.
_PREFERRED_RATIOS = ("16:9", "3:4", "4:3", "21:9")


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, backend_database: BackendDatabases
) -> Iterator[httpx.Client]:
    with shared_backend_client(
        tmp_path_factory.mktemp("all-models"),
        backend_database,
        local_queue_s=0.05,
        local_run_s=0.05,
        rate_limit_generate=1000,
        rate_limit_presign=1000,
    ) as c:
        yield c


def _request_for(model_id: str, client: httpx.Client) -> dict[str, Any]:
    model = get_model(model_id)
    body: dict[str, Any] = {"prompt": f"a lighthouse at dusk ({model.label})", "model": model_id}
    body["numImages"] = 1
    ratio = next((r for r in _PREFERRED_RATIOS if r in model.aspect_ratios), None)
    if ratio is not None:
        body["aspectRatio"] = ratio
    if model.attachments.min:
        colors = ("red", "green", "blue")
        body["attachmentImages"] = [
            {"url": upload(client, png_bytes(64, 48, colors[i % 3]))}
            for i in range(model.attachments.min)
        ]
    return body


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_model_generates_at_its_exact_size(client: httpx.Client, model_id: str) -> None:
    model = get_model(model_id)
    body = _request_for(model_id, client)
    resp = client.post(GENERATE_PATH, json=body)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    if model.call_type == "sync":
        assert answer.get("success") is True, answer
    else:
        assert answer.get("queued") is True, answer
        answer = resolve(client, answer["requestId"], model_id)
        assert answer.get("success") is True, answer
    (image,) = answer["images"]
    expected = output_size(model_id, body.get("aspectRatio"), None)
    assert image_size(client, image["url"]) == expected


def test_every_model_is_covered() -> None:
    assert len(MODEL_IDS) == 23


@pytest.mark.parametrize(
    ("model_id", "options", "size"),
    [
        ("img-nano-banana-pro", {"resolution": "2K", "aspectRatio": "1:1"}, (2048, 2048)),
        ("img-gpt-image-1-5", {"aspectRatio": "4:3", "quality": "high"}, (1536, 1024)),
        ("img-gpt-image-1", {"aspectRatio": "3:4"}, (1024, 1536)),
    ],
)
def test_options_change_the_output_size(
    client: httpx.Client, model_id: str, options: dict[str, str], size: tuple[int, int]
) -> None:
    body = {"prompt": "a harbour", "model": model_id, "numImages": 1, **options}
    assert output_size(model_id, options.get("aspectRatio"), options.get("resolution")) == size
    resp = client.post(GENERATE_PATH, json=body)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    if answer.get("queued"):
        answer = resolve(client, answer["requestId"], model_id)
    (image,) = answer["images"]
    assert image_size(client, image["url"]) == size
