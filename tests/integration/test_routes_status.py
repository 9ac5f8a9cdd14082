"""GET /api/generate-images/status over real HTTP: states, long poll, ownership, caching."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from backend.server import EmbeddedBackend
from tests.conftest import BackendFactory, dev_token
from tests.integration.routes_support import (
    GENERATE_PATH,
    STATUS_PATH,
    api_client,
    assert_error,
    image_size,
)

MODEL = "img-flux-2-max"


def _submit(client: httpx.Client, prompt: str = "a mountain", model: str = MODEL) -> str:
    resp = client.post(GENERATE_PATH, json={"prompt": prompt, "model": model})
    assert resp.status_code == 200, resp.text
    request_id: str = resp.json()["requestId"]
    return request_id


def _status(
    client: httpx.Client, request_id: str, model: str = MODEL, **extra: object
) -> httpx.Response:
    params = {"requestId": request_id, "modelId": model, **extra}
    return client.get(STATUS_PATH, params=params)


def _generated_files(backend: EmbeddedBackend) -> list[Path]:
    return [p for p in (backend.config.data_dir / "files").rglob("*") if p.is_file()]


def test_without_wait_it_answers_at_once_with_the_queue_state(
    backend_factory: BackendFactory,
) -> None:
    backend = backend_factory(local_queue_s=60, local_run_s=60)
    with api_client(backend.base_url, dev_token(backend)) as client:
        first = _submit(client)
        second = _submit(client)
        body = _status(client, second).json()
        assert body == {"queued": True, "status": "IN_QUEUE", "position": body["position"]}
        assert isinstance(body["position"], int) and body["position"] >= 1
        assert _status(client, first).json()["queued"] is True


def test_long_poll_returns_images_when_the_job_finishes(
    backend: EmbeddedBackend, client: httpx.Client
) -> None:
    request_id = _submit(client)
    started = time.monotonic()
    resp = _status(client, request_id, wait=20)
    elapsed = time.monotonic() - started
    assert resp.status_code == 200, resp.text
    body = resp.json()
    # One call, answered COMPLETED: the long poll waited for the job, not for the cap.
    assert body["success"] is True, body
    assert elapsed < 20
    (image,) = body["images"]
    assert image["url"].startswith(backend.base_url + "/files/")
    assert image_size(client, image["url"]) == (1024, 1024)


def test_wait_is_capped_by_the_server(backend_factory: BackendFactory) -> None:
    backend = backend_factory(local_queue_s=600, max_wait_s=0.2)
    with api_client(backend.base_url, dev_token(backend)) as client:
        request_id = _submit(client)
        # Asks for an hour; the server's cap answers while the job is still queued.
        body = _status(client, request_id, wait=3600).json()
        assert body["queued"] is True and body["status"] == "IN_QUEUE"
        assert _status(client, request_id, wait="inf").json()["queued"] is True


def test_repeated_status_calls_return_the_same_urls_without_copies(
    backend: EmbeddedBackend, client: httpx.Client
) -> None:
    request_id = _submit(client)
    first = _status(client, request_id, wait=20).json()
    assert first["success"] is True
    files_after_first = _generated_files(backend)
    again = [_status(client, request_id).json() for _ in range(3)]
    assert all(body == first for body in again)
    assert _generated_files(backend) == files_after_first


def test_a_failed_job_is_success_false_with_a_sentence(client: httpx.Client) -> None:
    request_id = _submit(client, prompt="[fail] a broken robot")
    resp = _status(client, request_id, wait=20)
    assert resp.status_code == 200
    body = resp.json()
    assert body["success"] is False
    assert "simulated failure" in body["error"]


def test_another_users_request_id_is_403(backend: EmbeddedBackend, client: httpx.Client) -> None:
    request_id = _submit(client)
    with api_client(backend.base_url, dev_token(backend, "mallory")) as mallory:
        assert_error(_status(mallory, request_id), 403, "forbidden")
        assert_error(_status(mallory, request_id, wait=5), 403, "forbidden")


def test_tampered_and_foreign_request_ids_are_400(
    backend_factory: BackendFactory, tmp_path: Path
) -> None:
    backend = backend_factory()
    other = backend_factory(tmp_path / "other")  # another installation: another secret
    with api_client(backend.base_url, dev_token(backend)) as client:
        request_id = _submit(client)
        flipped = request_id[:10] + ("A" if request_id[10] != "A" else "B") + request_id[11:]
        for bad in (flipped, request_id[:-3], "x" * 5000, "..", "not-an-id", "é.é"):
            assert_error(_status(client, bad), 400)
    with api_client(other.base_url, dev_token(other)) as other_client:
        assert_error(_status(other_client, request_id), 400, "invalid_request_id")


def test_model_mismatch_and_bad_parameters_are_400(client: httpx.Client) -> None:
    request_id = _submit(client)
    assert_error(_status(client, request_id, model="img-imagen3"), 400, "model_mismatch")
    for wait in ("-1", "nan", "abc", "1e999999x"):
        assert_error(_status(client, request_id, wait=wait), 400, "invalid_wait")
    assert_error(client.get(STATUS_PATH, params={"modelId": MODEL}), 400)
    assert_error(client.get(STATUS_PATH, params={"requestId": request_id}), 400)
    assert_error(client.get(STATUS_PATH), 400)


def test_status_needs_a_token(backend: EmbeddedBackend, client: httpx.Client) -> None:
    request_id = _submit(client)
    resp = httpx.get(
        backend.base_url + STATUS_PATH, params={"requestId": request_id, "modelId": MODEL}
    )
    assert_error(resp, 401, "unauthorized")
