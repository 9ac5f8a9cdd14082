"""Display-size variants on the R2 store (moto's S3 server): outputs get them beside the
original in the bucket, and a reference uploaded straight to the bucket gets them once a
generation names it."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from backend.image_variants_maker import fit
from backend.server import EmbeddedBackend
from catalog.image_variants import FEATURE, VARIANT_EDGES, variant_url
from tests.conftest import BackendFactory, dev_token
from tests.integration.platform_fixtures import r2_settings, s3_client_with_bucket, s3_endpoint
from tests.integration.routes_support import GENERATE_PATH, PRESIGN_PATH, api_client

__all__ = ["s3_endpoint"]

BUCKET = "imagegen-variants"
PUBLIC = "https://cdn.example.test/media"


@pytest.fixture(scope="module")
def s3(s3_endpoint: str) -> Any:
    return s3_client_with_bucket(s3_endpoint, BUCKET)


@pytest.fixture
def r2_backend(backend_factory: BackendFactory, s3_endpoint: str, s3: Any) -> EmbeddedBackend:
    return backend_factory(**r2_settings(s3_endpoint, BUCKET, PUBLIC))


@pytest.fixture
def client(r2_backend: EmbeddedBackend) -> Iterator[httpx.Client]:
    with api_client(r2_backend.base_url, dev_token(r2_backend)) as c:
        yield c


def key_of(url: str) -> str:
    assert url.startswith(PUBLIC + "/"), url
    return url[len(PUBLIC) + 1 :]


def bucket_object(s3: Any, url: str) -> tuple[str, bytes] | None:
    """``(Content-Type, bytes)`` of the object behind ``url``, or None when absent."""
    try:
        obj = s3.get_object(Bucket=BUCKET, Key=key_of(url))
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise
    return obj["ContentType"], obj["Body"].read()


def assert_variants_in_bucket(s3: Any, url: str, width: int, height: int) -> None:
    for edge in VARIANT_EDGES:
        found = bucket_object(s3, variant_url(url, edge) or "")
        assert found is not None, (url, edge)
        content_type, data = found
        assert content_type == "image/webp"
        with Image.open(io.BytesIO(data)) as img:
            assert (img.format, img.size) == ("WEBP", fit(width, height, edge))


def test_health_on_r2_lists_the_feature(r2_backend: EmbeddedBackend) -> None:
    body = httpx.get(r2_backend.base_url + "/healthz").json()
    assert body["store"] == "r2" and FEATURE in body["features"]


def test_outputs_land_in_the_bucket_with_their_variants(client: httpx.Client, s3: Any) -> None:
    body = {"prompt": "a fox", "model": "img-imagen4-preview", "aspectRatio": "16:9"}
    resp = client.post(GENERATE_PATH, json={**body, "idempotencyKey": uuid.uuid4().hex})
    assert resp.status_code == 200, resp.text
    [image] = resp.json()["images"]
    assert (image["width"], image["height"], image["contentType"]) == (1408, 768, "image/png")
    assert bucket_object(s3, image["url"]) is not None
    assert_variants_in_bucket(s3, image["url"], 1408, 768)


def test_a_reference_uploaded_to_the_bucket_gets_variants_once_used(
    client: httpx.Client, s3: Any
) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (1200, 1600), "olive").save(buf, "PNG")
    data = buf.getvalue()
    presigned = client.post(PRESIGN_PATH, json={"contentType": "image/png", "size": len(data)})
    assert presigned.status_code == 200, presigned.text
    put = httpx.put(
        presigned.json()["uploadUrl"], content=data, headers={"Content-Type": "image/png"}
    )
    assert put.status_code == 200, put.text
    url = presigned.json()["publicUrl"]
    # The bytes went straight to the bucket: no variants yet (this server never saw them).
    assert bucket_object(s3, variant_url(url, 256) or "") is None
    body = {"prompt": "edit", "model": "img-flux-kontext-pro", "attachmentImages": [{"url": url}]}
    resp = client.post(GENERATE_PATH, json=body)
    assert resp.status_code == 200, resp.text
    # Made in the background: this only bounds how long a broken build would hang.
    deadline = time.monotonic() + 20
    while any(bucket_object(s3, variant_url(url, e) or "") is None for e in VARIANT_EDGES):
        assert time.monotonic() < deadline, "the reference's variants never appeared"
        time.sleep(0.05)
    assert_variants_in_bucket(s3, url, 1200, 1600)
