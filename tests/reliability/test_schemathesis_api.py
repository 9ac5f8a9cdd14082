"""Schemathesis against the live ``/openapi.json`` of a running embedded backend, with a
valid Bearer token: no 5xx anywhere, and answers that conform to the schema.

Positive and negative generation for every operation. The routes read their JSON bodies
themselves (so that any body gets a sentence, not a 422), so their bodies are fuzzed
separately in ``test_hostile_bodies``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.server import EmbeddedBackend
from tests.conftest import BackendFactory
from tests.reliability.conftest import bearer, token_for
from tests.reliability.test_hostile_arguments import JSON, PLAUSIBLE

EXAMPLES = 25


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedBackend, Any]]:
    backend = EmbeddedBackend(
        tmp_path_factory.mktemp("schemathesis"),
        local_queue_s=0.1,
        local_run_s=0.1,
        rate_limit_generate=100_000,
        rate_limit_presign=100_000,
    ).start()
    try:
        schema = schemathesis.openapi.from_url(backend.base_url + "/openapi.json")
        yield backend, schema
    finally:
        backend.stop()


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def _not_http(response: Any) -> bool:
    """uvicorn's own refusal of bytes that are not HTTP (negative mode can send a header or
    query h11 cannot parse): answered before any route runs, so not the API's answer."""
    return response.status_code == 400 and response.text == "Invalid HTTP request received."


def _fuzz(live: tuple[EmbeddedBackend, Any], checks: list[Any], mode: GenerationMode) -> list[str]:
    """Failures (one line each) over every operation; asserts requests were really made."""
    backend, schema = live
    headers = bearer(token_for(backend.base_url, "schemathesis"))
    failures: list[str] = []
    calls = 0

    def make_run(label: str) -> Any:
        def run(case: Any) -> None:
            nonlocal calls
            response = case.call(base_url=backend.base_url, headers=headers, timeout=30)
            calls += 1
            if _not_http(response):
                return
            try:
                case.validate_response(response, checks=checks, headers=headers)
            except FailureGroup as exc:  # collect every operation's failures, then report
                for failure in exc.exceptions:
                    failures.append(f"{label}: {type(failure).__name__}: {failure}"[:300])

        return run

    for operation in _operations(schema):
        test = settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(given(case=operation.as_strategy(generation_mode=mode))(make_run(operation.label)))
        try:
            test()
        except Unsatisfiable:
            pass  # negative mode on an operation with no parameters: nothing to break
    # Parameterless operations give one case each; the status route gives many.
    assert calls >= 20, calls
    return sorted(set(failures))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors_and_schema_conformant_bodies(live: Any, mode: GenerationMode) -> None:
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    assert _fuzz(live, checks, mode) == []


def test_every_status_code_is_documented(live: Any) -> None:
    assert _fuzz(live, [status_code_conformance], GenerationMode.NEGATIVE) == []


def test_openapi_lists_every_public_route(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    paths = httpx.get(backend.base_url + "/openapi.json").json()["paths"]
    for route in (
        "/api/mobile/generate-images",
        "/api/generate-images",
        "/api/generate-images/status",
        "/api/mobile/r2-presign",
        "/api/r2-presign",
        "/api/mobile/models",
        "/healthz",
    ):
        assert route in paths


BODY = (
    st.fixed_dictionaries(
        {},
        optional={
            **PLAUSIBLE,
            "attachmentImages": st.lists(
                st.fixed_dictionaries({"url": st.text(max_size=40)}) | JSON, max_size=3
            )
            | JSON,
            "turnstileToken": st.text(max_size=20) | JSON,
            "contentType": st.sampled_from(["image/png", "image/jpeg", "text/plain"]) | JSON,
            "size": st.integers(-5, 10**9) | JSON,
        },
    )
    | JSON
)


def test_route_bodies_never_500(live: Any) -> None:
    """The routes read their bodies themselves (not in the schema): fuzz them here."""
    backend, _ = live
    headers = bearer(token_for(backend.base_url, "bodies"))
    routes = (
        "/api/mobile/generate-images",
        "/api/generate-images",
        "/api/mobile/r2-presign",
        "/api/r2-presign",
        "/api/dev/token",
    )
    with httpx.Client(base_url=backend.base_url, headers=headers, timeout=30) as client:

        @settings(max_examples=150, deadline=None, database=None)
        @given(route=st.sampled_from(routes), body=BODY)
        def run(route: str, body: Any) -> None:
            # NaN / Infinity too: Python's json.loads on the server accepts them.
            raw = json.dumps(body)
            resp = client.post(route, content=raw, headers={"Content-Type": "application/json"})
            assert resp.status_code < 500, (route, body, resp.text[:200])
            if resp.status_code >= 400:
                data = resp.json()
                assert isinstance(data["error"], str) and data["error"] and data["code"]

        run()
