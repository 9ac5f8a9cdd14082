"""The embedded backend renders in worker processes: a worker that dies mid-render fails
that generation with a sentence, charges nothing and holds no slot, and the next
generation works. Real backend over HTTP, real spawned workers, both dialects."""

from __future__ import annotations

import uuid

from backend.server import EmbeddedBackend
from tests.conftest import BackendFactory, dev_token
from tests.integration.routes_support import (
    GENERATE_PATH,
    api_client,
    assert_error,
    credits_breakdown,
    resolve,
)
from tests.unit import image_pool_jobs as jobs

SYNC = "img-imagen4-preview"
QUEUED = "img-nano-banana"
CRASHED = "worker process stopped unexpectedly"


def body(model: str) -> dict[str, object]:
    return {
        "prompt": "a harbour at dawn",
        "model": model,
        "numImages": 1,
        "aspectRatio": "1:1",
        "idempotencyKey": uuid.uuid4().hex,
    }


def crash_the_workers(backend: EmbeddedBackend) -> None:
    # The test's hook: what the local provider sends to a worker is a function that dies.
    backend.app.state.providers.local.render_in_worker = jobs.crash_render


def test_a_worker_crash_on_a_sync_model_is_a_clean_error_and_charges_nothing(
    backend_factory: BackendFactory,
) -> None:
    backend = backend_factory()
    with api_client(backend.base_url, dev_token(backend)) as client:
        before = credits_breakdown(client)
        crash_the_workers(backend)
        for _ in range(5):  # more than the 4 slots: none may stay taken
            error = assert_error(client.post(GENERATE_PATH, json=body(SYNC)), 502)
            assert CRASHED in error["error"] and "Traceback" not in error["error"]
        assert credits_breakdown(client) == before
        del backend.app.state.providers.local.render_in_worker  # back to the real render
        resp = client.post(GENERATE_PATH, json=body(SYNC))
        assert resp.status_code == 200, resp.text
        assert resp.json()["success"] is True and len(resp.json()["images"]) == 1


def test_a_worker_crash_on_a_queued_job_fails_it_and_releases_its_credits(
    backend_factory: BackendFactory,
) -> None:
    backend = backend_factory()
    with api_client(backend.base_url, dev_token(backend)) as client:
        before = credits_breakdown(client)
        crash_the_workers(backend)
        resp = client.post(GENERATE_PATH, json=body(QUEUED))
        assert resp.status_code == 200, resp.text
        done = resolve(client, resp.json()["requestId"], QUEUED)
        assert done["success"] is False and CRASHED in done["error"]
        assert credits_breakdown(client) == before
