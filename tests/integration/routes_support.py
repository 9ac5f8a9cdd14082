"""Small helpers for the route tests: images, uploads, generation and long polls over HTTP."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from tests.database_fixtures import BackendDatabases

STATUS_PATH = "/api/generate-images/status"
GENERATE_PATH = "/api/mobile/generate-images"
PRESIGN_PATH = "/api/mobile/r2-presign"


def png_bytes(width: int = 48, height: int = 32, color: str = "teal") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def assert_error(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer is ``{error, code}`` with ``status``; returns the body."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("code"), str) and body["code"], body
    if code is not None:
        assert body["code"] == code, body
    return body


def upload(client: httpx.Client, data: bytes | None = None, content_type: str = "image/png") -> str:
    """Presign, PUT the bytes, and return the public URL in the store."""
    data = png_bytes() if data is None else data
    resp = client.post(PRESIGN_PATH, json={"contentType": content_type, "size": len(data)})
    assert resp.status_code == 200, resp.text
    presigned = resp.json()
    put = client.put(presigned["uploadUrl"], content=data, headers={"Content-Type": content_type})
    assert put.status_code == 200, put.text
    url: str = presigned["publicUrl"]
    return url


def resolve(
    client: httpx.Client, request_id: str, model_id: str, wait: float = 20.0, rounds: int = 10
) -> dict[str, Any]:
    """Long-poll the status route until the job is no longer queued."""
    for _ in range(rounds):
        resp = client.get(
            STATUS_PATH, params={"requestId": request_id, "modelId": model_id, "wait": wait}
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        if not body.get("queued"):
            return body
    raise AssertionError(f"the job was still queued after {rounds} long polls")


def generate_images(client: httpx.Client, body: dict[str, Any]) -> list[str]:
    """POST a generation and return the image URLs (following the queue if needed)."""
    resp = client.post(GENERATE_PATH, json=body)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    if answer.get("queued"):
        answer = resolve(client, answer["requestId"], body["model"])
    assert answer.get("success") is True, answer
    return [image["url"] for image in answer["images"]]


def convex_value(
    client: httpx.Client, kind: str, path: str, args: dict[str, Any] | None = None
) -> Any:
    """The value of a Convex query or mutation through the backend's ``/convex`` HTTP API;
    the call must succeed."""
    resp = client.post(
        f"/convex/api/{kind}", json={"path": path, "args": args or {}, "format": "json"}
    )
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer.get("status") == "success", f"{path}: {answer}"
    return answer["value"]


def credits_breakdown(client: httpx.Client) -> dict[str, float]:
    """``{total, reserved, available}`` as the Convex host reports them."""
    value: dict[str, float] = convex_value(client, "query", "users:getUserCreditsBreakdown")
    return value


def image_size(client: httpx.Client, url: str) -> tuple[int, int]:
    resp = client.get(url)
    assert resp.status_code == 200, resp.text
    with Image.open(io.BytesIO(resp.content)) as img:
        img.load()
        return img.size


def api_client(base_url: str, token: str | None) -> httpx.Client:
    """An httpx client for the backend, signed in with ``token`` when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=60.0)


@contextmanager
def shared_backend_client(
    data_dir: Path, databases: BackendDatabases, **overrides: Any
) -> Iterator[httpx.Client]:
    """A signed-in client of a backend that many read-only cases share (a start costs ~0.3 s),
    its state in the module's database (``databases``: the ``backend_database`` fixture)."""
    from backend.server import EmbeddedBackend
    from tests.conftest import dev_token

    database = {"database_url": databases.url_for(data_dir)}
    with EmbeddedBackend(data_dir, **{**database, **overrides}) as backend:
        with api_client(backend.base_url, dev_token(backend)) as c:
            yield c
