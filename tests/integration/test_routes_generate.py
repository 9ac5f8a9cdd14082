"""POST /api/mobile/generate-images and POST /api/generate-images over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backend.server import EmbeddedBackend
from backend.turnstile import DUMMY_TOKEN
from catalog.sizes import output_size
from tests.conftest import BackendFactory, dev_token
from tests.database_fixtures import BackendDatabases
from tests.integration.routes_support import (
    GENERATE_PATH,
    api_client,
    assert_error,
    image_size,
    shared_backend_client,
    upload,
)

SYNC_MODEL = "img-imagen4-preview"
QUEUED_MODEL = "img-flux-2-max"


@pytest.fixture(scope="module")
def shared_client(
    tmp_path_factory: pytest.TempPathFactory, backend_database: BackendDatabases
) -> Iterator[httpx.Client]:
    data_dir = tmp_path_factory.mktemp("shared")
    with shared_backend_client(data_dir, backend_database, rate_limit_generate=10_000) as c:
        yield c


def test_sync_model_answers_with_images_in_our_store(
    backend: EmbeddedBackend, client: httpx.Client
) -> None:
    body = {"prompt": "a red fox", "model": SYNC_MODEL, "aspectRatio": "16:9", "numImages": 2}
    resp = client.post(GENERATE_PATH, json=body)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["success"] is True
    urls = [image["url"] for image in answer["images"]]
    assert len(urls) == 2 and len(set(urls)) == 2
    for url in urls:
        assert url.startswith(backend.base_url + "/files/generations/")
        assert image_size(client, url) == output_size(SYNC_MODEL, "16:9", None)


def test_a_sync_answer_says_how_long_the_provider_took(backend_factory: BackendFactory) -> None:
    backend = backend_factory(local_sync_s=0.3)
    with api_client(backend.base_url, dev_token(backend)) as client:
        resp = client.post(GENERATE_PATH, json={"prompt": "a fox", "model": SYNC_MODEL})
    assert resp.status_code == 200, resp.text
    name, _, duration = resp.headers["server-timing"].partition(";dur=")
    assert name == "provider"
    # The local provider's sync call waits 0.3 s before it renders; the whole answer
    # took longer than the provider's part of it.
    assert 300 <= float(duration) <= resp.elapsed.total_seconds() * 1000


def test_queued_model_answers_with_an_opaque_request_id(client: httpx.Client) -> None:
    resp = client.post(GENERATE_PATH, json={"prompt": "a tree", "model": QUEUED_MODEL})
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["queued"] is True
    assert isinstance(answer["requestId"], str) and len(answer["requestId"]) > 20
    assert "images" not in answer


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (b'"just a string"', "invalid_json"),
        (b"\xff\xfe garbage", "invalid_json"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid_json"),
        (
            b'{"prompt": "x", "model": "img-imagen4-preview", "numImages": 1' + b"9" * 5000 + b"}",
            "invalid_json",
        ),
    ],
    ids=["broken", "empty", "array", "string", "not-utf8", "deep-nesting", "huge-int"],
)
def test_unreadable_bodies_are_400(shared_client: httpx.Client, content: bytes, code: str) -> None:
    resp = shared_client.post(
        GENERATE_PATH, content=content, headers={"Content-Type": "application/json"}
    )
    assert_error(resp, 400, code)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"prompt": "x", "model": "img-nope"}, "models we offer"),
        ({"prompt": "", "model": SYNC_MODEL}, "prompt"),
        ({"model": SYNC_MODEL}, "prompt"),
        ({"prompt": "x"}, "Choose a model"),
        ({"prompt": 123, "model": SYNC_MODEL}, "prompt must be text"),
        ({"prompt": "x", "model": SYNC_MODEL, "numImages": "two"}, "whole number"),
        ({"prompt": "x", "model": SYNC_MODEL, "numImages": 1.5}, "whole number"),
        ({"prompt": "x", "model": SYNC_MODEL, "numImages": True}, "whole number"),
        ({"prompt": "x", "model": SYNC_MODEL, "numImages": 10**30}, "images per request"),
        ({"prompt": "x", "model": SYNC_MODEL, "numImages": -1}, "images per request"),
        ({"prompt": "x", "model": SYNC_MODEL, "numImages": 0}, "images per request"),
        ({"prompt": "x", "model": SYNC_MODEL, "aspectRatio": "7:3"}, "aspect ratio"),
        ({"prompt": "x", "model": SYNC_MODEL, "aspectRatio": ["1:1"]}, "aspect ratio"),
        ({"prompt": "x", "model": SYNC_MODEL, "resolution": "8K"}, "resolution"),
        ({"prompt": "x", "model": SYNC_MODEL, "attachmentImages": "nope"}, "list of {url}"),
        ({"prompt": "x", "model": SYNC_MODEL, "attachmentImages": [{"url": 5}]}, "Attachment 1"),
        ({"prompt": "x" * 5000, "model": SYNC_MODEL}, "characters"),
        ({"prompt": "x", "model": ["img-imagen4-preview"]}, "model"),
        ({"prompt": "edit", "model": "img-flux-2-max-edit"}, "reference image"),
    ],
)
def test_invalid_requests_are_400_with_a_sentence(
    shared_client: httpx.Client, body: dict[str, Any], fragment: str
) -> None:
    answer = assert_error(shared_client.post(GENERATE_PATH, json=body), 400, "invalid_request")
    assert fragment in answer["error"]


def test_every_problem_is_reported_in_one_answer(client: httpx.Client) -> None:
    body = {"prompt": "", "model": SYNC_MODEL, "aspectRatio": "7:3", "numImages": 99}
    answer = assert_error(client.post(GENERATE_PATH, json=body), 400, "invalid_request")
    for fragment in ("prompt", "aspect ratio", "images per request"):
        assert fragment in answer["error"]


def test_nan_and_infinity_are_400(shared_client: httpx.Client) -> None:
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        content = b'{"prompt": "x", "model": "img-imagen4-preview", "numImages": ' + literal + b"}"
        resp = shared_client.post(
            GENERATE_PATH, content=content, headers={"Content-Type": "application/json"}
        )
        assert_error(resp, 400)


def test_bodies_over_one_megabyte_are_413(client: httpx.Client) -> None:
    body = json.dumps({"prompt": "x" * (1024 * 1024 + 10), "model": SYNC_MODEL}).encode()
    assert_error(
        client.post(GENERATE_PATH, content=body, headers={"Content-Type": "application/json"}),
        413,
        "too_large",
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap must hold while streaming
        yield b'{"prompt": "'
        for _ in range(20):
            yield b"y" * 65536
        yield b'", "model": "img-imagen4-preview"}'

    resp = client.post(
        GENERATE_PATH, content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_error(resp, 413, "too_large")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not.a.jwt"},
    ],
)
def test_generation_needs_a_valid_token(
    shared_client: httpx.Client, headers: dict[str, str]
) -> None:
    resp = httpx.post(
        str(shared_client.base_url).rstrip("/") + GENERATE_PATH,
        json={"prompt": "a fox", "model": SYNC_MODEL},
        headers=headers,
    )
    assert_error(resp, 401, "unauthorized")


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/cat.png",
        "http://169.254.169.254/latest/meta-data",
        "file:///etc/passwd",
        "{base}/files/uploads/../../signing.key",
        "{base}@evil.example/files/uploads/2026/01/01/abc.png",
    ],
)
def test_attachments_outside_our_store_are_refused(shared_client: httpx.Client, url: str) -> None:
    base = str(shared_client.base_url).rstrip("/")
    body = {
        "prompt": "edit this",
        "model": "img-flux-2-max-edit",
        "attachmentImages": [{"url": url.format(base=base)}],
    }
    assert_error(shared_client.post(GENERATE_PATH, json=body), 400, "attachment_not_allowed")


def test_an_uploaded_attachment_is_accepted(client: httpx.Client) -> None:
    url = upload(client)
    body = {
        "prompt": "edit this",
        "model": "img-seedream-v4-edit",
        "attachmentImages": [{"url": url}],
    }
    resp = client.post(GENERATE_PATH, json=body)
    assert resp.status_code == 200, resp.text


def test_a_failing_sync_provider_is_a_502_with_its_sentence(client: httpx.Client) -> None:
    resp = client.post(GENERATE_PATH, json={"prompt": "[fail] please", "model": SYNC_MODEL})
    answer = assert_error(resp, 502)
    assert "simulated failure" in answer["error"]


def test_web_route_requires_turnstile(backend: EmbeddedBackend, client: httpx.Client) -> None:
    body: dict[str, Any] = {"prompt": "a lake", "model": SYNC_MODEL}
    assert_error(client.post("/api/generate-images", json=body), 403, "turnstile_failed")
    body["turnstileToken"] = "forged"
    assert_error(client.post("/api/generate-images", json=body), 403, "turnstile_failed")
    body["turnstileToken"] = DUMMY_TOKEN
    resp = client.post("/api/generate-images", json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["success"] is True


def test_rate_limit_is_per_user_with_retry_after(backend_factory: BackendFactory) -> None:
    backend = backend_factory(rate_limit_generate=2, rate_limit_window_s=120)
    body = {"prompt": "a cloud", "model": QUEUED_MODEL}
    with api_client(backend.base_url, dev_token(backend, "alice")) as alice:
        for _ in range(2):
            assert alice.post(GENERATE_PATH, json=body).status_code == 200
        resp = alice.post(GENERATE_PATH, json=body)
        assert_error(resp, 429, "rate_limited")
        assert 1 <= int(resp.headers["Retry-After"]) <= 120
        # Invalid requests count too: the limit runs before the body is read.
        assert_error(alice.post(GENERATE_PATH, content=b"{"), 429, "rate_limited")
    with api_client(backend.base_url, dev_token(backend, "bob")) as bob:
        assert bob.post(GENERATE_PATH, json=body).status_code == 200


def test_server_without_keys_answers_503_provider_not_configured(
    backend_factory: BackendFactory,
) -> None:
    backend = backend_factory(embedded=False, dev_auth=True)
    with api_client(backend.base_url, dev_token(backend)) as client:
        resp = client.post(GENERATE_PATH, json={"prompt": "a fox", "model": SYNC_MODEL})
        answer = assert_error(resp, 503, "provider_not_configured")
        assert "not configured" in answer["error"]
        health = client.get("/healthz").json()
    assert health["mode"] == "server"
    assert set(health["providers"].values()) == {"not_configured"}


def test_server_with_local_providers_generates(backend_factory: BackendFactory) -> None:
    backend = backend_factory(embedded=False, dev_auth=True, local_providers=True)
    with api_client(backend.base_url, dev_token(backend)) as client:
        resp = client.post(GENERATE_PATH, json={"prompt": "a fox", "model": SYNC_MODEL})
        assert resp.status_code == 200, resp.text
        assert client.get("/healthz").json()["providers"]["fal"] == "local"
