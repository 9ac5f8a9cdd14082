"""The R2 store against moto's S3 server: presign -> PUT -> get, put, URLs."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

from backend.config import BackendConfig
from backend.store.base import new_key
from backend.store.factory import make_store
from backend.store.local import LocalObjectStore
from backend.store.r2 import R2ObjectStore
from tests.integration.platform_fixtures import s3_client_with_bucket, s3_endpoint

__all__ = ["s3_endpoint"]

BUCKET = "imagegen-test"
PUBLIC = "https://cdn.example.test/img"


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (5, 5), (1, 2, 3)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def bucket(s3_endpoint: str) -> str:
    s3_client_with_bucket(s3_endpoint, BUCKET)
    return BUCKET


@pytest.fixture
def config(s3_endpoint: str, bucket: str, tmp_path: Path) -> BackendConfig:
    return BackendConfig(
        data_dir=tmp_path,
        r2_endpoint_url=s3_endpoint,
        r2_access_key_id="test",
        r2_secret_access_key="test",
        r2_bucket=bucket,
        r2_public_base_url=PUBLIC + "/",
    )


@pytest.fixture
def store(config: BackendConfig) -> Iterator[R2ObjectStore]:
    made = make_store(config)
    assert isinstance(made, R2ObjectStore)
    yield made


async def test_presign_put_get_round_trip(store: R2ObjectStore) -> None:
    key = new_key("uploads", "image/png")
    up = store.presign_put(key, "image/png", 1 << 20, 300)
    assert up.key == key and up.expires_in == 300
    assert up.public_url == f"{PUBLIC}/{key}"
    assert "X-Amz-Signature=" in up.upload_url
    data = png()
    async with httpx.AsyncClient() as client:
        r = await client.put(up.upload_url, content=data, headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    assert await store.get(key) == data
    head = store._client.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == "image/png"


def test_content_type_is_part_of_the_signature(store: R2ObjectStore) -> None:
    up = store.presign_put(new_key("uploads", "image/png"), "image/png", 1 << 20, 300)
    # moto does not check signatures, so assert what S3/R2 will check: the signed headers.
    query = parse_qs(urlsplit(up.upload_url).query)
    assert "content-type" in query["X-Amz-SignedHeaders"][0].split(";")


async def test_put_then_get(store: R2ObjectStore) -> None:
    key = new_key("outputs", "image/png")
    url = await store.put(key, png(), "image/png")
    assert url == f"{PUBLIC}/{key}"
    assert await store.get(key) == png()
    head = store._client.head_object(Bucket=BUCKET, Key=key)
    assert "immutable" in head["CacheControl"]


async def test_get_missing_raises_key_error(store: R2ObjectStore) -> None:
    with pytest.raises(KeyError):
        await store.get(new_key("outputs", "image/png"))


async def test_bad_keys_are_refused(store: R2ObjectStore) -> None:
    with pytest.raises(ValueError):
        store.presign_put("../../etc/x.png", "image/png", 10, 60)
    with pytest.raises(ValueError):
        await store.put("/abs.png", png(), "image/png")


def test_key_for_url(store: R2ObjectStore) -> None:
    key = new_key("uploads", "image/webp")
    assert store.key_for_url(f"{PUBLIC}/{key}") == key
    assert store.key_for_url(f"{PUBLIC}/../{key}") is None
    assert store.key_for_url(f"https://cdn.example.test/other/{key}") is None
    assert store.key_for_url(f"{PUBLIC}.evil.com/{key}") is None


def test_factory_falls_back_to_local(tmp_path: Path) -> None:
    store = make_store(BackendConfig(data_dir=tmp_path, public_base_url="http://127.0.0.1:9"))
    assert isinstance(store, LocalObjectStore)
    assert store.public_url("uploads/a/b.png") == "http://127.0.0.1:9/files/uploads/a/b.png"
    assert (tmp_path / "signing.key").stat().st_mode & 0o777 == 0o600


def test_r2_without_public_url_is_a_clear_error(config: BackendConfig) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="R2_PUBLIC_BASE_URL"):
        R2ObjectStore.from_config(replace(config, r2_public_base_url=None))
