"""Hostile uploads: wrong types, over the cap, truncated images, decompression bombs, path
traversal in object keys (plain and encoded), forged and expired presigned URLs."""

from __future__ import annotations

import io
import socket
import struct
import zlib
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from PIL import Image

from backend.server import EmbeddedBackend
from tests.conftest import BackendFactory
from tests.reliability.conftest import assert_api_error, bearer, local_jobs, token_for

CAP = 64 * 1024


def png_bytes(size: tuple[int, int] = (32, 32)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


def bomb_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A valid PNG a few KB long that claims 3.6 billion pixels (Pillow refuses > 179M)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    idat = zlib.compress(b"\x00" * (width // 8 + 1) * 64, 9)  # only the first rows
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def capped(backend_factory: BackendFactory) -> EmbeddedBackend:
    return backend_factory(max_upload_bytes=CAP)


def presign(backend: EmbeddedBackend, token: str, content_type: str = "image/png") -> dict:
    resp = httpx.post(
        f"{backend.base_url}/api/mobile/r2-presign",
        json={"contentType": content_type},
        headers=bearer(token),
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("text/html", 415),
        ("image/svg+xml", 415),
        ("application/octet-stream", 415),
        ("image/png\r\nX-Injected: 1", 415),
        ("", 400),
        (None, 400),
        (12, 400),
    ],
)
def test_presign_refuses_wrong_types(backend: EmbeddedBackend, content_type, status) -> None:
    token = token_for(backend.base_url, "uploader")
    resp = httpx.post(
        f"{backend.base_url}/api/mobile/r2-presign",
        json={"contentType": content_type},
        headers=bearer(token),
    )
    assert_api_error(resp, status)


def test_presign_ignores_client_keys_and_refuses_over_cap(capped: EmbeddedBackend) -> None:
    token = token_for(capped.base_url, "uploader")
    resp = httpx.post(
        f"{capped.base_url}/api/mobile/r2-presign",
        json={"contentType": "image/png", "key": "../../signing.key", "size": 10},
        headers=bearer(token),
    )
    assert resp.status_code == 200
    assert ".." not in resp.json()["key"] and resp.json()["key"].startswith("uploads/")
    over = httpx.post(
        f"{capped.base_url}/api/mobile/r2-presign",
        json={"contentType": "image/png", "size": CAP + 1},
        headers=bearer(token),
    )
    assert_api_error(over, 413, "too_large")


def test_put_checks_type_size_and_bytes(capped: EmbeddedBackend) -> None:
    token = token_for(capped.base_url, "uploader")
    signed = presign(capped, token)
    url = signed["uploadUrl"]
    # Declared type differs from the signed one.
    resp = httpx.put(url, content=png_bytes(), headers={"Content-Type": "image/gif"})
    assert_api_error(resp, 415)
    # Not an image at all, sent as one.
    resp = httpx.put(
        url, content=b"<script>alert(1)</script>", headers={"Content-Type": "image/png"}
    )
    assert_api_error(resp, 415)
    # Over the cap: declared, and streamed without a length.
    resp = httpx.put(
        url, content=b"\x89PNG\r\n\x1a\n" + b"0" * CAP, headers={"Content-Type": "image/png"}
    )
    assert_api_error(resp, 413)

    def chunks():
        yield b"\x89PNG\r\n\x1a\n"
        for _ in range(CAP // 4096 + 2):
            yield b"0" * 4096

    resp = httpx.put(url, content=chunks(), headers={"Content-Type": "image/png"})
    assert_api_error(resp, 413)
    # None of that was stored.
    assert httpx.get(signed["publicUrl"]).status_code == 404
    # The real thing is.
    good = png_bytes()
    assert httpx.put(url, content=good, headers={"Content-Type": "image/png"}).status_code == 200
    assert httpx.get(signed["publicUrl"]).content == good


def _tamper(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def test_forged_and_expired_presigns_are_refused(backend: EmbeddedBackend) -> None:
    token = token_for(backend.base_url, "uploader")
    signed = presign(backend, token)
    url, data = signed["uploadUrl"], png_bytes()
    headers = {"Content-Type": "image/png"}
    forged = {
        "signature": _tamper(url, sig="0" * 64),
        "bigger cap": _tamper(url, max=str(10**12)),
        "later expiry": _tamper(url, exp=str(10**10)),
        "other type": _tamper(url, ct="image/gif"),
        "no signature": url.split("?")[0],
        "other key": url.replace(signed["key"], signed["key"].replace("uploads/", "generations/")),
    }
    for name, bad in forged.items():
        ct = "image/gif" if name == "other type" else "image/png"
        resp = httpx.put(bad, content=data, headers={"Content-Type": ct})
        assert resp.status_code == 403, (name, resp.status_code, resp.text)
    store = backend.app.state.store
    expired = store.presign_put("uploads/2020/01/01/" + "a" * 32 + ".png", "image/png", CAP, -5)
    resp = httpx.put(expired.upload_url, content=data, headers=headers)
    assert_api_error(resp, 403, "presign_expired")
    assert httpx.get(expired.public_url).status_code == 404


def _raw_get(backend: EmbeddedBackend, target: str) -> tuple[int, bytes]:
    """Send the request line exactly as given (no client-side path normalisation)."""
    with socket.create_connection(("127.0.0.1", backend.port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@pytest.mark.parametrize(
    "target",
    [
        "/files/../signing.key",
        "/files/..%2fsigning.key",
        "/files/..%2Fsigning.key",
        "/files/%2e%2e/signing.key",
        "/files/%252e%252e%252fsigning.key",
        "/files/uploads/..%5c..%5csigning.key",
        "/files//etc/passwd",
        "/files/%2Fetc%2Fpasswd",
        "/files/uploads/2026/01/01/../../../../../signing.key",
        "/files/uploads/x.png%00.key",
        "/files/..;/signing.key",
    ],
)
def test_path_traversal_never_reads_outside_the_store(
    backend: EmbeddedBackend, target: str
) -> None:
    secret_files = [p for p in Path(backend.config.data_dir).iterdir() if p.is_file()]
    secrets = [p.read_bytes() for p in secret_files if p.stat().st_size < 100_000]
    status, body = _raw_get(backend, target)
    assert status in (400, 403, 404), (target, status)
    for secret in secrets:
        if len(secret) >= 16:
            assert secret not in body
    assert b"root:" not in body


def test_traversal_put_with_a_signature_for_another_key(backend: EmbeddedBackend) -> None:
    token = token_for(backend.base_url, "uploader")
    signed = presign(backend, token)
    query = signed["uploadUrl"].split("?", 1)[1]
    for target in ("../evil.png", "..%2fevil.png", "uploads/../../evil.png"):
        resp = httpx.put(
            f"{backend.base_url}/files/{target}?{query}",
            content=png_bytes(),
            headers={"Content-Type": "image/png"},
        )
        assert resp.status_code in (403, 404), (target, resp.status_code)
    assert not (Path(backend.config.data_dir) / "evil.png").exists()
    assert not (Path(backend.config.data_dir).parent / "evil.png").exists()


@pytest.mark.parametrize("kind", ["truncated", "bomb"])
def test_broken_attachments_fail_cleanly_on_the_server(backend: EmbeddedBackend, kind: str) -> None:
    """Bytes that pass the magic-number check but are not a decodable image, used as an
    edit model's attachment: a clear 4xx/502 or a real image (never a 500, never a hang),
    and the server keeps serving."""
    token = token_for(backend.base_url, "uploader")
    signed = presign(backend, token)
    data = png_bytes((400, 400))[:200] if kind == "truncated" else bomb_png()
    put = httpx.put(signed["uploadUrl"], content=data, headers={"Content-Type": "image/png"})
    if put.status_code != 200:
        assert_api_error(put, 415)  # refusing at upload is fine too
        return
    body = {
        "prompt": "edit this",
        "model": "img-reve-edit",  # sync: the local provider composes the attachment now
        "attachmentImages": [{"url": signed["publicUrl"]}],
    }
    resp = httpx.post(
        f"{backend.base_url}/api/mobile/generate-images",
        json=body,
        headers=bearer(token),
        timeout=60,
    )
    if resp.status_code == 200:
        # The local provider may draw a placeholder for an undecodable input: then what it
        # returns must be a real image in our store.
        for image in resp.json()["images"]:
            got = httpx.get(image["url"])
            assert got.status_code == 200
            Image.open(io.BytesIO(got.content)).verify()
    else:
        assert 400 <= resp.status_code < 500 or resp.status_code == 502, resp.text
        assert_api_error(resp, resp.status_code)
    assert httpx.get(f"{backend.base_url}/healthz").status_code == 200
    assert all(job["state"] != "rendering" for job in local_jobs(backend))
