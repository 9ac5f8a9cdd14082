"""A queued job survives a backend restart: the queue, keys and secrets live in the data dir."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import BackendFactory, dev_token
from tests.integration.routes_support import (
    GENERATE_PATH,
    STATUS_PATH,
    api_client,
    image_size,
    resolve,
)

MODEL = "img-flux-2-max"


def test_queued_job_resolves_after_a_restart(backend_factory: BackendFactory) -> None:
    first = backend_factory(local_queue_s=1.0, local_run_s=0.2)
    token = dev_token(first)
    with api_client(first.base_url, token) as client:
        pending = client.post(GENERATE_PATH, json={"prompt": "pending", "model": MODEL}).json()
        params = {"requestId": pending["requestId"], "modelId": MODEL}
        assert client.get(STATUS_PATH, params=params).json()["queued"] is True
    first.stop()
    with pytest.raises(httpx.TransportError):  # really gone
        httpx.get(first.base_url + "/healthz", timeout=2)

    second = backend_factory(local_queue_s=1.0, local_run_s=0.2)
    # Same data dir: the port is reused so stored image URLs stay valid.
    assert second.base_url == first.base_url
    # The token from before the restart still verifies: the key pair was kept.
    with api_client(second.base_url, token) as client:
        body = resolve(client, pending["requestId"], MODEL)
        assert body["success"] is True, body
        (image,) = body["images"]
        assert image["url"].startswith(second.base_url + "/files/")
        assert image_size(client, image["url"]) == (1024, 1024)
        # Asking again answers the same URL (from the results cache).
        assert resolve(client, pending["requestId"], MODEL) == body


def test_a_request_id_from_before_a_restart_keeps_its_owner(
    backend_factory: BackendFactory,
) -> None:
    first = backend_factory(local_queue_s=0.05, local_run_s=0.05)
    with api_client(first.base_url, dev_token(first)) as client:
        done = client.post(GENERATE_PATH, json={"prompt": "x", "model": MODEL}).json()
    first.stop()
    second = backend_factory()
    with api_client(second.base_url, dev_token(second, "someone-else")) as other:
        resp = other.get(STATUS_PATH, params={"requestId": done["requestId"], "modelId": MODEL})
        assert resp.status_code == 403
        assert resp.json()["code"] == "forbidden"
