"""The whole backend on the R2 store (moto's S3 server): presign -> PUT -> edit with the
uploaded image -> outputs rehosted into the bucket, sync and queued, over real HTTP."""

from __future__ import annotations

import io
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

from backend.server import EmbeddedBackend
from tests.conftest import BackendFactory, dev_token
from tests.integration.platform_fixtures import r2_settings, s3_client_with_bucket, s3_endpoint
from tests.integration.routes_support import (
    GENERATE_PATH,
    PRESIGN_PATH,
    api_client,
    assert_error,
    generate_images,
    png_bytes,
)

__all__ = ["s3_endpoint"]

BUCKET = "imagegen-routes"
PUBLIC = "https://cdn.example.test/media"


@pytest.fixture(scope="module")
def s3(s3_endpoint: str) -> object:
    return s3_client_with_bucket(s3_endpoint, BUCKET)


@pytest.fixture
def r2_backend(backend_factory: BackendFactory, s3_endpoint: str, s3: object) -> EmbeddedBackend:
    return backend_factory(**r2_settings(s3_endpoint, BUCKET, PUBLIC))


@pytest.fixture
def client(r2_backend: EmbeddedBackend) -> Iterator[httpx.Client]:
    with api_client(r2_backend.base_url, dev_token(r2_backend)) as c:
        yield c


def _object(s3: object, url: str) -> bytes:
    assert url.startswith(PUBLIC + "/"), url
    key = url[len(PUBLIC) + 1 :]
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()  # type: ignore[attr-defined]
    return body


def _upload(client: httpx.Client, data: bytes) -> str:
    resp = client.post(PRESIGN_PATH, json={"contentType": "image/png", "size": len(data)})
    assert resp.status_code == 200, resp.text
    presigned = resp.json()
    signed = parse_qs(urlsplit(presigned["uploadUrl"]).query)["X-Amz-SignedHeaders"][0]
    # What R2 checks: the declared length and the type are part of the signature.
    assert set(signed.split(";")) >= {"content-length", "content-type"}
    put = httpx.put(presigned["uploadUrl"], content=data, headers={"Content-Type": "image/png"})
    assert put.status_code == 200, put.text
    url: str = presigned["publicUrl"]
    return url


def test_health_reports_r2(r2_backend: EmbeddedBackend) -> None:
    assert httpx.get(r2_backend.base_url + "/healthz").json()["store"] == "r2"


def test_presign_without_a_size_is_refused_on_r2(client: httpx.Client) -> None:
    # R2 can only bind a size it is told; without one the 20 MB cap could not hold.
    assert_error(client.post(PRESIGN_PATH, json={"contentType": "image/png"}), 400, "size_required")


def test_sync_edit_reads_the_upload_and_rehosts_into_the_bucket(
    client: httpx.Client, s3: object
) -> None:
    uploaded = _upload(client, png_bytes(64, 48, "orange"))
    assert _object(s3, uploaded) == png_bytes(64, 48, "orange")
    urls = generate_images(
        client,
        {
            "prompt": "make it blue",
            "model": "img-flux-kontext-pro",
            "aspectRatio": "16:9",
            "attachmentImages": [{"url": uploaded}],
        },
    )
    [url] = urls
    with Image.open(io.BytesIO(_object(s3, url))) as img:
        assert img.size == (1024, 576)


def test_queued_outputs_land_in_the_bucket(client: httpx.Client, s3: object) -> None:
    urls = generate_images(client, {"prompt": "a fox", "model": "img-nano-banana", "numImages": 2})
    assert len(urls) == 2 and len(set(urls)) == 2
    for url in urls:
        with Image.open(io.BytesIO(_object(s3, url))) as img:
            assert img.size == (1024, 1024)


def test_attachments_outside_the_bucket_are_refused(client: httpx.Client) -> None:
    body = {
        "prompt": "edit",
        "model": "img-flux-kontext-pro",
        "attachmentImages": [{"url": "https://cdn.example.test/other/uploads/x.png"}],
    }
    assert_error(client.post(GENERATE_PATH, json=body), 400, "attachment_not_allowed")
