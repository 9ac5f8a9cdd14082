"""The local object store over real HTTP: presign -> PUT -> GET and every refusal."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from PIL import Image

from backend.store.base import new_key
from tests.integration.platform_fixtures import LocalStoreServer, local_store_server

__all__ = ["local_store_server"]


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(buf, format=fmt)
    return buf.getvalue()


def presign(srv: LocalStoreServer, ct: str = "image/png", max_size: int = 1 << 20, exp: int = 60):
    return srv.store.presign_put(new_key("uploads", ct), ct, max_size, exp)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(q)).geturl()


def test_presign_put_get_round_trip(local_store_server: LocalStoreServer) -> None:
    srv = local_store_server
    data = image_bytes()
    up = presign(srv)
    assert up.upload_url.startswith(f"{srv.base_url}/files/{up.key}?")
    assert up.public_url == f"{srv.base_url}/files/{up.key}"
    r = httpx.put(up.upload_url, content=data, headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    got = httpx.get(up.public_url)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/png"
    assert "max-age=31536000" in got.headers["cache-control"]
    assert Image.open(io.BytesIO(got.content)).size == (8, 6)
    assert srv.store.key_for_url(up.public_url) == up.key


async def test_put_and_get_through_the_api(local_store_server: LocalStoreServer) -> None:
    store = local_store_server.store
    key = new_key("outputs", "image/jpeg")
    data = image_bytes("JPEG")
    url = await store.put(key, data, "image/jpeg")
    assert await store.get(key) == data
    async with httpx.AsyncClient() as client:
        r = await client.get(url)
    assert (r.status_code, r.headers["content-type"]) == (200, "image/jpeg")
    with pytest.raises(KeyError):
        await store.get(new_key("outputs", "image/png"))


@pytest.mark.parametrize("field", ["sig", "ct", "max", "exp"])
def test_tampered_presign_is_refused(local_store_server: LocalStoreServer, field: str) -> None:
    up = presign(local_store_server)
    changed = {"sig": "0" * 64, "ct": "image/gif", "max": "999999999", "exp": "9999999999"}
    r = httpx.put(
        with_query(up.upload_url, **{field: changed[field]}),
        content=image_bytes(),
        headers={"Content-Type": "image/png"},
    )
    assert r.status_code == 403
    assert r.json()["code"] == "invalid_signature"


def test_signature_is_bound_to_the_key(local_store_server: LocalStoreServer) -> None:
    srv = local_store_server
    up = presign(srv)
    other = new_key("uploads", "image/png")
    url = up.upload_url.replace(up.key, other)
    r = httpx.put(url, content=image_bytes(), headers={"Content-Type": "image/png"})
    assert r.status_code == 403
    assert httpx.get(srv.store.public_url(other)).status_code == 404


def test_missing_query_is_refused(local_store_server: LocalStoreServer) -> None:
    up = presign(local_store_server)
    r = httpx.put(up.public_url, content=image_bytes(), headers={"Content-Type": "image/png"})
    assert (r.status_code, r.json()["code"]) == (403, "invalid_signature")


def test_expired_presign_is_refused(local_store_server: LocalStoreServer) -> None:
    # Signed with an expiry already in the past (no sleeping needed).
    up = presign(local_store_server, exp=-5)
    r = httpx.put(up.upload_url, content=image_bytes(), headers={"Content-Type": "image/png"})
    assert r.status_code == 403
    body = r.json()
    assert body["code"] == "presign_expired"
    assert "expired" in body["error"]
    assert int(parse_qs(urlsplit(up.upload_url).query)["exp"][0]) < time.time()


def test_wrong_content_type_header_is_refused(local_store_server: LocalStoreServer) -> None:
    up = presign(local_store_server)
    r = httpx.put(up.upload_url, content=image_bytes(), headers={"Content-Type": "image/jpeg"})
    assert (r.status_code, r.json()["code"]) == (415, "unsupported_type")


def test_bytes_of_another_type_are_refused(local_store_server: LocalStoreServer) -> None:
    up = presign(local_store_server)
    r = httpx.put(up.upload_url, content=image_bytes("JPEG"), headers={"Content-Type": "image/png"})
    assert (r.status_code, r.json()["code"]) == (415, "unsupported_type")


def test_non_image_bytes_are_refused(local_store_server: LocalStoreServer) -> None:
    srv = local_store_server
    up = presign(srv)
    body = b"<html><script>alert(1)</script></html>"
    r = httpx.put(up.upload_url, content=body, headers={"Content-Type": "image/png"})
    assert (r.status_code, r.json()["code"]) == (415, "unsupported_type")
    assert httpx.get(up.public_url).status_code == 404


def test_oversize_body_is_refused(local_store_server: LocalStoreServer) -> None:
    srv = local_store_server
    up = presign(srv, max_size=1000)
    data = image_bytes(size=(300, 300)) + b"\0" * 5000
    assert len(data) > 1000
    r = httpx.put(up.upload_url, content=data, headers={"Content-Type": "image/png"})
    assert (r.status_code, r.json()["code"]) == (413, "too_large")
    assert httpx.get(up.public_url).status_code == 404


def test_oversize_stream_without_length_is_refused(local_store_server: LocalStoreServer) -> None:
    up = presign(local_store_server, max_size=1000)

    def chunks():  # chunked transfer: no Content-Length for the server to check up front
        yield image_bytes()
        for _ in range(20):
            yield b"\0" * 200

    r = httpx.put(up.upload_url, content=chunks(), headers={"Content-Type": "image/png"})
    assert (r.status_code, r.json()["code"]) == (413, "too_large")


def test_get_of_missing_file_is_json_404(local_store_server: LocalStoreServer) -> None:
    srv = local_store_server
    r = httpx.get(srv.store.public_url(new_key("uploads", "image/png")))
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "raw_path",
    [
        "/files/..%2f..%2fetc%2fpasswd",
        "/files/uploads/%2e%2e/%2e%2e/secret.png",
        "/files/uploads/..%5c..%5csecret.png",
        "/files/%2fetc%2fpasswd",
        "/files/uploads/.hidden.png",
    ],
)
def test_path_traversal_keys_are_refused(
    local_store_server: LocalStoreServer, raw_path: str
) -> None:
    srv = local_store_server
    (srv.store.root.parent / "secret.png").write_bytes(image_bytes())
    with httpx.Client() as client:
        req = client.build_request("GET", srv.base_url)
        req.url = req.url.copy_with(raw_path=raw_path.encode())
        r = client.send(req)
        assert r.status_code == 404
        assert r.json()["code"] == "not_found"
        put = client.build_request("PUT", srv.base_url, content=image_bytes())
        put.url = put.url.copy_with(raw_path=raw_path.encode() + b"?exp=1&ct=image/png&sig=x")
        assert client.send(put).status_code in (403, 404)


@pytest.mark.parametrize(
    "key", ["../x.png", "/etc/passwd", "uploads/../../x.png", "uploads\\x.png", "uploads/a b.png"]
)
async def test_store_api_refuses_bad_keys(local_store_server: LocalStoreServer, key: str) -> None:
    store = local_store_server.store
    with pytest.raises(ValueError):
        store.presign_put(key, "image/png", 100, 60)
    with pytest.raises(ValueError):
        await store.put(key, image_bytes(), "image/png")
    with pytest.raises(KeyError):
        await store.get(key)


def test_key_for_url_only_accepts_exact_prefix(local_store_server: LocalStoreServer) -> None:
    srv = local_store_server
    key = new_key("uploads", "image/png")
    base = srv.base_url
    assert srv.store.key_for_url(f"{base}/files/{key}") == key
    assert srv.store.key_for_url(f"{base}/files/{key}?x=1") is None
    assert srv.store.key_for_url(f"{base}@evil.com/files/{key}") is None
    assert srv.store.key_for_url(f"{base}0/files/{key}") is None
    assert srv.store.key_for_url(f"http://evil.com/files/{key}") is None


def test_unsupported_content_type_cannot_be_presigned(local_store_server: LocalStoreServer) -> None:
    from backend.errors import ApiError

    with pytest.raises(ApiError) as err:
        local_store_server.store.presign_put(new_key("uploads", "image/png"), "text/html", 10, 60)
    assert (err.value.status, err.value.code) == (415, "unsupported_type")
