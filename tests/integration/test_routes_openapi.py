"""F8: the live OpenAPI document declares what the routes really answer.

(`tests/reliability/test_schemathesis_api.py` then fuzzes the live server against it.)
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from backend.providers.base import ProviderError
from backend.routes.common import PROVIDER_STATUSES, provider_failure
from backend.routes.schemas import (
    CatalogDocument,
    DevTokenResult,
    HealthResult,
    ImagesResult,
    Jwks,
    PresignResult,
    QueuedResult,
)
from backend.server import EmbeddedBackend
from catalog import catalog_document
from tests.conftest import auth_headers, dev_token
from tests.integration.routes_support import GENERATE_PATH, PRESIGN_PATH

ERROR_REF = "#/components/schemas/ErrorBody"
AUTHENTICATED = {
    ("post", "/api/mobile/generate-images"): {400, 401, 413, 422, 429, 502, 503, 504},
    ("post", "/api/generate-images"): {400, 401, 403, 413, 422, 429, 502, 503, 504},
    ("get", "/api/generate-images/status"): {400, 401, 403, 404, 502, 503},
    ("post", "/api/mobile/r2-presign"): {400, 401, 413, 415, 429, 503},
    ("post", "/api/r2-presign"): {400, 401, 403, 413, 415, 429, 502, 503},
}


@pytest.fixture
def document(backend: EmbeddedBackend) -> dict[str, Any]:
    resp = httpx.get(backend.base_url + "/openapi.json", timeout=10)
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


def _error_ref(answer: dict[str, Any]) -> str | None:
    schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref")
    return ref if isinstance(ref, str) else None


def test_every_route_declares_its_errors_with_the_error_body(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for (method, path), statuses in AUTHENTICATED.items():
        operation = paths[path][method]
        declared = {int(s) for s in operation["responses"] if s != "200"}
        assert statuses <= declared, (path, statuses - declared)
        for status in declared:
            assert _error_ref(operation["responses"][str(status)]) == ERROR_REF, (path, status)
        assert operation["security"] == [{"bearerAuth": []}]
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["error", "code"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_fastapis_never_sent_validation_422_is_gone(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answer = operation["responses"].get("422")
            # Only the provider's rejection (an ErrorBody) may be a 422.
            assert answer is None or _error_ref(answer) == ERROR_REF, (method, path)
            assert "200" in operation["responses"], (method, path)
            assert operation["responses"]["200"]["content"]["application/json"]["schema"]


def test_request_bodies_have_real_schemas(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    expected = {
        "/api/mobile/generate-images": "GenerateBody",
        "/api/generate-images": "GenerateWebBody",
        "/api/mobile/r2-presign": "PresignBody",
        "/api/r2-presign": "PresignWebBody",
        "/api/dev/token": "DevTokenBody",
    }
    for path, name in expected.items():
        body = document["paths"][path]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/" + name
        }
        assert schemas[name]["properties"], name
    assert set(schemas["GenerateBody"]["required"]) == {"prompt", "model"}
    assert "turnstileToken" in schemas["PresignWebBody"]["required"]


def test_live_answers_match_their_declared_models(backend: EmbeddedBackend) -> None:
    base = backend.base_url
    CatalogDocument.model_validate(httpx.get(base + "/api/mobile/models").json())
    assert CatalogDocument.model_validate(catalog_document()).models
    HealthResult.model_validate(httpx.get(base + "/healthz").json())
    Jwks.model_validate(httpx.get(base + "/.well-known/jwks.json").json())
    DevTokenResult.model_validate(httpx.post(base + "/api/dev/token", json={}).json())
    headers = auth_headers(dev_token(base))
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        PresignResult.model_validate(
            client.post(PRESIGN_PATH, json={"contentType": "image/png"}).json()
        )
        sync = client.post(GENERATE_PATH, json={"prompt": "a fox", "model": "img-reve"})
        queued = client.post(GENERATE_PATH, json={"prompt": "a fox", "model": "img-nano-banana"})
    assert ImagesResult.model_validate(sync.json()).images
    assert QueuedResult.model_validate(queued.json()).requestId


@pytest.mark.parametrize("status", [401, 409, 418, 500, 501, 599])
def test_undeclared_provider_statuses_become_502(status: int) -> None:
    assert provider_failure(ProviderError("nope", status=status)).status == 502


@pytest.mark.parametrize("status", PROVIDER_STATUSES)
def test_declared_provider_statuses_pass_through(status: int) -> None:
    assert provider_failure(ProviderError("nope", status=status)).status == status
