"""POST /api/mobile/generate-images/preview over real HTTP: the provider request generate
would send, with generate's refusals, and nothing held, charged, queued or stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from backend.app import CONVEX_DB_NAME
from backend.convex_host.tables import TABLES
from backend.server import EmbeddedBackend
from backend.turnstile import DUMMY_TOKEN
from bench.reliability.db_read import read_rows
from catalog.validation import MAX_PROMPT_CHARS
from tests.conftest import BackendFactory, dev_token
from tests.integration.routes_support import (
    GENERATE_PATH,
    api_client,
    assert_error,
    credits_breakdown,
    upload,
)
from tests.reliability.conftest import local_jobs

PREVIEW_PATH = "/api/mobile/generate-images/preview"
WEB_PREVIEW_PATH = "/api/generate-images/preview"
QUEUED_ONE_PER_CALL = "img-flux-2-max"


def _rows(backend: EmbeddedBackend) -> dict[str, int]:
    """How many slots, holds, sessions and loading rows the Convex host has."""
    database = backend.config.database(CONVEX_DB_NAME)
    return {
        name: read_rows(
            database, select(func.count().label("n")).select_from(TABLES[name]), table=name
        )[0]["n"]
        for name in ("generations", "holds", "sessions", "sessionGenerations")
    }


def _ledger(backend: EmbeddedBackend, client: httpx.Client) -> tuple[Any, ...]:
    return (credits_breakdown(client), _rows(backend), len(local_jobs(backend)))


def test_preview_is_the_fal_request_and_touches_nothing(
    backend: EmbeddedBackend, client: httpx.Client
) -> None:
    reference = upload(client)
    before = _ledger(backend, client)
    body = {
        "prompt": "a lighthouse at dawn",
        "model": "img-nano-banana-edit",
        "aspectRatio": "16:9",
        "numImages": 2,
        "attachmentImages": [{"url": reference}],
        "idempotencyKey": "preview-key-0001",
        "sessionTitle": "Lighthouse",
    }
    resp = client.post(PREVIEW_PATH, json=body)
    assert resp.status_code == 200, resp.text
    preview = resp.json()
    assert preview["provider"] == "fal"
    assert preview["endpoint"] == "fal-ai/gemini-25-flash-image/edit"
    assert preview["method"] == "POST"
    assert preview["url"] == "https://queue.fal.run/fal-ai/gemini-25-flash-image/edit"
    assert preview["body"] == {
        "prompt": "a lighthouse at dawn",
        "image_urls": [reference],
        "aspect_ratio": "16:9",
        "num_images": 2,
    }
    assert preview["calls"] == 1
    # The embedded backend has no Fal key: the preview says who really renders.
    assert any("local provider" in note for note in preview["notes"])
    assert _ledger(backend, client) == before
    # The same key then really generates once: the preview did not take it.
    assert client.post(GENERATE_PATH, json=body).status_code == 200
    assert credits_breakdown(client) != before[0]


def test_one_image_per_call_endpoints_say_how_many_calls(client: httpx.Client) -> None:
    body = {"prompt": "a fox", "model": QUEUED_ONE_PER_CALL, "numImages": 3, "aspectRatio": "1:1"}
    preview = client.post(PREVIEW_PATH, json=body).json()
    assert preview["calls"] == 3
    assert "num_images" not in preview["body"]
    assert preview["body"]["image_size"] == "square_hd"


def test_keyed_previews_never_carry_a_secret(backend_factory: BackendFactory) -> None:
    azure_url = "https://res.openai.azure.com/openai/deployments/d/images/generations?api-version=1"
    backend = backend_factory(
        fal_key="fal-secret-123:abc", azure_api_key="azure-secret-456", azure_base_url=azure_url
    )
    with api_client(backend.base_url, dev_token(backend)) as client:
        azure = client.post(
            PREVIEW_PATH, json={"prompt": "a red kite", "model": "img-gpt-image-1", "numImages": 1}
        )
        fal = client.post(PREVIEW_PATH, json={"prompt": "a red kite", "model": "img-reve"})
    assert azure.status_code == 200 and fal.status_code == 200, (azure.text, fal.text)
    preview = azure.json()
    assert preview["provider"] == "azure" and preview["url"] == "${AZURE_BASE_URL}"
    assert preview["body"] == {"prompt": "a red kite", "size": "1024x1024", "n": 1}
    # Keys configured: the real providers would run it, so no local-provider note.
    assert not any("local provider" in note for note in preview["notes"] + fal.json()["notes"])
    for secret in ("fal-secret-123", "azure-secret-456", "res.openai.azure.com"):
        assert secret not in azure.text and secret not in fal.text


ROGUE_BODIES: list[Any] = [
    {"prompt": "", "model": "img-imagen4-preview"},
    {"prompt": "x" * (MAX_PROMPT_CHARS + 1), "model": "img-imagen4-preview"},
    {"prompt": "a cat", "model": "no-such-model"},
    {"prompt": "a cat", "model": "img-imagen4-preview", "aspectRatio": "7:3"},
    {"prompt": "a cat", "model": "img-imagen4-preview", "numImages": 99},
    {"prompt": "a cat", "model": "img-nano-banana-edit"},
    {"prompt": "a cat", "model": "img-nano-banana-edit", "attachmentImages": [{"url": "http://169.254.169.254/x.png"}]},
    {"prompt": "a cat", "model": "img-imagen4-preview", "idempotencyKey": "k" * 9,
     "concurrencySlotId": "s"},
    {"prompt": "a cat", "model": "img-imagen4-preview", "sessionTitle": ""},
    {"prompt": ["a cat"], "model": "img-imagen4-preview"},
    [],
    "not an object",
]  # fmt: skip


@pytest.mark.parametrize("rogue", ROGUE_BODIES)
def test_rogue_bodies_get_generates_refusals(
    backend: EmbeddedBackend, client: httpx.Client, rogue: Any
) -> None:
    before = _ledger(backend, client)
    refused = client.post(PREVIEW_PATH, json=rogue)
    generated = client.post(GENERATE_PATH, json=rogue)
    body = assert_error(refused, generated.status_code)
    assert refused.status_code >= 400
    assert body == generated.json()
    assert _ledger(backend, client) == before


def test_preview_needs_a_sign_in(backend: EmbeddedBackend) -> None:
    body = {"prompt": "a cat", "model": "img-imagen4-preview"}
    with api_client(backend.base_url, None) as anonymous:
        assert_error(anonymous.post(PREVIEW_PATH, json=body), 401)
    with api_client(backend.base_url, "not-a-jwt") as forged:
        assert_error(forged.post(PREVIEW_PATH, json=body), 401)


def test_web_twin_checks_turnstile(client: httpx.Client) -> None:
    body: dict[str, Any] = {"prompt": "a cat", "model": "img-imagen4-preview"}
    assert_error(client.post(WEB_PREVIEW_PATH, json=body), 403, "turnstile_failed")
    resp = client.post(WEB_PREVIEW_PATH, json={**body, "turnstileToken": DUMMY_TOKEN})
    assert resp.status_code == 200, resp.text
    assert resp.json()["body"]["prompt"] == "a cat"


def test_starting_balance_is_untouched_by_many_previews(
    backend: EmbeddedBackend, client: httpx.Client
) -> None:
    body = {"prompt": "a cat", "model": "img-imagen4-preview", "numImages": 4}
    for _ in range(5):
        assert client.post(PREVIEW_PATH, json=body).status_code == 200
    assert credits_breakdown(client)["reserved"] == 0
    assert credits_breakdown(client)["total"] == backend.config.starting_credits
