"""The real backend, through the real fal-client, against the HTTPS fake of Fal's queue.

For every Fal model of the catalog a generate request for the most images the catalog
allows must deliver exactly that many (the fake answers as many as the endpoint's schema
makes, so an endpoint with no ``num_images`` proves the fan-out); every submitted input
is checked against the endpoint's vendored JSON Schema; edit models' references are in the
local store (loopback, out of Fal's reach), so they must arrive as Fal storage URLs; and a
cancel of a running job reaches the fake.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from catalog import MODELS, get_model
from tests.database_fixtures import BackendDatabases
from tests.fakes.fal_server import FAKE_KEY, HOLD_MARKER, FakeFal, serving_fake_fal
from tests.integration.routes_support import (
    GENERATE_PATH,
    STATUS_PATH,
    image_size,
    png_bytes,
    shared_backend_client,
    upload,
)

FAL_MODELS = sorted(m.id for m in MODELS.values() if m.provider == "fal")
# (model id, references): every Fal model, and Reve Edit's remix path (2+ references).
CASES = [(m, None) for m in FAL_MODELS] + [("img-reve-edit", 2)]
CANCEL_PATH = "/api/generate-images/cancel"


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeFal]:
    with serving_fake_fal(tmp_path_factory.mktemp("fake-fal")) as server:
        yield server


@pytest.fixture(scope="module")
def client(
    fake: FakeFal, tmp_path_factory: pytest.TempPathFactory, backend_database: BackendDatabases
) -> Iterator[httpx.Client]:
    with shared_backend_client(
        tmp_path_factory.mktemp("fal-e2e"),
        backend_database,
        fal_key=FAKE_KEY,
        starting_credits=100_000,
        rate_limit_generate=1000,
        rate_limit_presign=1000,
    ) as c:
        yield c


def _body(model_id: str, refs: int | None, client: httpx.Client) -> dict[str, Any]:
    model = get_model(model_id)
    assert model is not None
    body: dict[str, Any] = {
        "prompt": f"a lighthouse at dusk ({model.label})",
        "model": model_id,
        "numImages": model.max_images,
        "idempotencyKey": uuid.uuid4().hex,
    }
    if model.aspect_ratios:
        body["aspectRatio"] = "1:1" if "1:1" in model.aspect_ratios else model.aspect_ratios[0]
    count = refs if refs is not None else model.attachments.min
    if count:
        body["attachmentImages"] = [
            {"url": upload(client, png_bytes(40 + i, 30, "red"))} for i in range(count)
        ]
    return body


def _settle(client: httpx.Client, answer: dict[str, Any], model_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while answer.get("queued"):
        assert time.monotonic() < deadline, f"{model_id} still queued: {answer}"
        resp = client.get(
            STATUS_PATH,
            params={"requestId": answer["requestId"], "modelId": model_id, "wait": 0},
        )
        assert resp.status_code == 200, resp.text
        if not resp.json().get("queued"):
            return dict(resp.json())
        time.sleep(0.05)
    return answer


@pytest.mark.parametrize(("model_id", "refs"), CASES, ids=[f"{m}-{r or ''}" for m, r in CASES])
def test_max_images_are_delivered(
    client: httpx.Client, fake: FakeFal, model_id: str, refs: int | None
) -> None:
    model = get_model(model_id)
    assert model is not None
    jobs_before = {job.id for job in fake.submissions()}
    rejected_before = len(fake.rejections)
    body = _body(model_id, refs, client)
    resp = client.post(GENERATE_PATH, json=body)
    assert resp.status_code == 200, resp.text
    answer = _settle(client, resp.json(), model_id)
    new_jobs = [job for job in fake.submissions() if job.id not in jobs_before]
    assert fake.rejections[rejected_before:] == [], "the fake refused an input"
    assert answer.get("success") is True, answer
    images = answer["images"]
    assert len(images) == model.max_images, (
        f"{model_id}: asked for {model.max_images}, got {len(images)} "
        f"from {len(new_jobs)} Fal job(s) at {sorted({j.endpoint for j in new_jobs})}"
    )
    assert len({image["url"] for image in images}) == len(images)
    assert image_size(client, images[0]["url"]) == (64, 48)  # rehosted from the fake
    if "attachmentImages" in body:
        for job in new_jobs:
            sent = [v for k, v in job.body.items() if k in ("image_url", "image_urls")]
            urls = [u for v in sent for u in (v if isinstance(v, list) else [v])]
            assert urls, f"{job.endpoint} got no reference"
            assert all(u.startswith(fake.storage_url("")) for u in urls), urls


def test_cancel_reaches_the_fake(client: httpx.Client, fake: FakeFal) -> None:
    body = _body("img-nano-banana", None, client)
    # The fake serves the module's runs on every dialect: a prompt of this run's own.
    body["prompt"] = prompt = f"a very slow lighthouse {HOLD_MARKER} {uuid.uuid4().hex}"
    resp = client.post(GENERATE_PATH, json=body)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer.get("queued") is True, answer
    (job,) = [j for j in fake.submissions() if j.body.get("prompt") == prompt]
    cancel = client.post(
        CANCEL_PATH, json={"requestId": answer["requestId"], "modelId": "img-nano-banana"}
    )
    assert cancel.status_code == 200, cancel.text
    assert job.id in fake.cancels


def test_healthz_says_references_go_to_fal_storage(client: httpx.Client) -> None:
    # No R2 here: the local store's loopback URLs are out of Fal's reach.
    assert client.get("/healthz").json()["references"] == "fal-storage"


def test_every_fal_model_is_covered() -> None:
    assert len(FAL_MODELS) == 20
