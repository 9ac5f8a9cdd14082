"""Presigned uploads over real HTTP: presign -> PUT -> GET, and every way to get it wrong."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from backend.server import EmbeddedBackend
from backend.store.base import new_key
from backend.turnstile import DUMMY_TOKEN
from tests.conftest import BackendFactory, dev_token
from tests.database_fixtures import BackendDatabases
from tests.integration.routes_support import (
    PRESIGN_PATH,
    api_client,
    assert_error,
    png_bytes,
    shared_backend_client,
)


@pytest.fixture(scope="module")
def shared_client(
    tmp_path_factory: pytest.TempPathFactory, backend_database: BackendDatabases
) -> Iterator[httpx.Client]:
    data_dir = tmp_path_factory.mktemp("shared")
    with shared_backend_client(data_dir, backend_database, rate_limit_presign=10_000) as c:
        yield c


def _presign(client: httpx.Client, content_type: str = "image/png", **extra: object) -> dict:
    resp = client.post(PRESIGN_PATH, json={"contentType": content_type, **extra})
    assert resp.status_code == 200, resp.text
    body: dict = resp.json()
    return body


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_presign_put_get_round_trip(backend: EmbeddedBackend, client: httpx.Client) -> None:
    data = png_bytes(20, 10)
    presigned = _presign(client, size=len(data))
    assert set(presigned) == {"uploadUrl", "publicUrl", "key", "expiresIn"}
    assert presigned["key"].startswith("uploads/") and presigned["key"].endswith(".png")
    assert presigned["publicUrl"] == f"{backend.base_url}/files/{presigned['key']}"
    assert presigned["expiresIn"] == backend.config.presign_expires_s
    assert_error(httpx.get(presigned["publicUrl"]), 404, "not_found")

    put = httpx.put(presigned["uploadUrl"], content=data, headers={"Content-Type": "image/png"})
    assert put.status_code == 200, put.text
    got = httpx.get(presigned["publicUrl"])
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/png"


def test_each_presign_gets_a_fresh_server_made_key(shared_client: httpx.Client) -> None:
    keys = {
        _presign(shared_client, key="uploads/mine.png", filename="../x")["key"] for _ in range(3)
    }
    assert len(keys) == 3
    assert all("mine" not in key and ".." not in key for key in keys)


@pytest.mark.parametrize("content_type", ["text/plain", "image/svg+xml", "application/pdf"])
def test_unsupported_types_are_415(shared_client: httpx.Client, content_type: str) -> None:
    resp = shared_client.post(PRESIGN_PATH, json={"contentType": content_type})
    assert_error(resp, 415, "unsupported_type")


def test_content_type_parameters_are_ignored(shared_client: httpx.Client) -> None:
    assert _presign(shared_client, "IMAGE/JPEG; charset=binary")["key"].endswith(".jpg")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"contentType": None},
        {"contentType": 5},
        {"contentType": "image/png", "size": "big"},
        {"contentType": "image/png", "size": -1},
        {"contentType": "image/png", "size": 1.5},
    ],
)
def test_bad_presign_bodies_are_400(shared_client: httpx.Client, body: dict) -> None:
    assert_error(shared_client.post(PRESIGN_PATH, json=body), 400)


def test_a_whole_number_size_written_as_a_float_is_accepted(
    shared_client: httpx.Client,
) -> None:
    # JSON Schema's "integer" (the OpenAPI document's) includes 2048.0.
    assert _presign(shared_client, size=2048.0)["key"].startswith("uploads/")
    infinite = b'{"contentType": "image/png", "size": 1e400}'  # json.loads gives inf
    headers = {"Content-Type": "application/json"}
    assert_error(shared_client.post(PRESIGN_PATH, content=infinite, headers=headers), 400)


def test_sizes_over_the_cap_are_413(backend: EmbeddedBackend, client: httpx.Client) -> None:
    cap = backend.config.max_upload_bytes
    assert_error(
        client.post(PRESIGN_PATH, json={"contentType": "image/png", "size": cap + 1}),
        413,
        "too_large",
    )
    assert_error(
        client.post(PRESIGN_PATH, json={"contentType": "image/png", "size": 10**40}),
        413,
        "too_large",
    )


def test_an_upload_bigger_than_the_link_allows_is_413(backend_factory: BackendFactory) -> None:
    backend = backend_factory(max_upload_bytes=1000)
    with api_client(backend.base_url, dev_token(backend)) as client:
        presigned = _presign(client)
        big = png_bytes(400, 400, "white") + b"\0" * 2000
        put = httpx.put(presigned["uploadUrl"], content=big, headers={"Content-Type": "image/png"})
        assert_error(put, 413, "too_large")


def test_a_declared_size_is_the_links_cap(client: httpx.Client) -> None:
    # The link grants what was asked for, not the whole 20 MB: a bigger body is refused.
    data = png_bytes()
    resp = client.post(PRESIGN_PATH, json={"contentType": "image/png", "size": len(data)})
    url = resp.json()["uploadUrl"]
    bigger = data + b"\0" * 100
    assert_error(httpx.put(url, content=bigger, headers={"Content-Type": "image/png"}), 413)
    assert httpx.put(url, content=data, headers={"Content-Type": "image/png"}).status_code == 200


def test_tampered_links_are_refused(client: httpx.Client) -> None:
    data = png_bytes()
    url = _presign(client)["uploadUrl"]
    key_swapped = url.replace("/files/uploads/", "/files/uploads2/", 1)
    for bad in (
        _with_query(url, sig="0" * 64),
        _with_query(url, max="999999999"),
        _with_query(url, exp="9999999999"),
        _with_query(url, ct="image/gif"),
        key_swapped,
        url.split("?")[0],
    ):
        put = httpx.put(bad, content=data, headers={"Content-Type": "image/png"})
        assert_error(put, 403, "invalid_signature")


def test_an_upload_must_match_the_signed_type_and_be_an_image(client: httpx.Client) -> None:
    url = _presign(client)["uploadUrl"]
    wrong_header = httpx.put(url, content=png_bytes(), headers={"Content-Type": "image/jpeg"})
    assert_error(wrong_header, 415, "unsupported_type")
    not_png = httpx.put(url, content=b"<svg></svg>", headers={"Content-Type": "image/png"})
    assert_error(not_png, 415, "unsupported_type")


def test_an_expired_link_is_refused(backend: EmbeddedBackend) -> None:
    # Minted already expired through the same store the route uses: no sleeping.
    store = backend.app.state.store
    presigned = store.presign_put(new_key("uploads", "image/png"), "image/png", 10_000, -5)
    put = httpx.put(
        presigned.upload_url, content=png_bytes(), headers={"Content-Type": "image/png"}
    )
    assert_error(put, 403, "presign_expired")


def test_presign_needs_a_token(backend: EmbeddedBackend) -> None:
    resp = httpx.post(backend.base_url + PRESIGN_PATH, json={"contentType": "image/png"})
    assert_error(resp, 401, "unauthorized")


def test_web_presign_requires_turnstile(client: httpx.Client) -> None:
    body: dict = {"contentType": "image/png"}
    assert_error(client.post("/api/r2-presign", json=body), 403, "turnstile_failed")
    body["turnstileToken"] = DUMMY_TOKEN
    resp = client.post("/api/r2-presign", json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["key"].startswith("uploads/")


def test_presign_is_rate_limited(backend_factory: BackendFactory) -> None:
    backend = backend_factory(rate_limit_presign=3)
    with api_client(backend.base_url, dev_token(backend)) as client:
        for _ in range(3):
            _presign(client)
        resp = client.post(PRESIGN_PATH, json={"contentType": "image/png"})
        assert_error(resp, 429, "rate_limited")
        assert int(resp.headers["Retry-After"]) >= 1
