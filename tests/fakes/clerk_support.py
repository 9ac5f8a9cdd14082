"""pytest fixtures and a tiny native client for the fake Clerk Frontend API.

Import the fixtures into a test module (``from tests.fakes.clerk_support import clerk_fapi,
clerk_backend  # noqa: F401``):

* ``clerk_fapi`` — a started :class:`FakeClerk` (stopped after the test).
* ``clerk_backend`` — the real backend in **Clerk mode** (``embedded=False``,
  ``dev_auth=False``, local providers) trusting the fake's JWKS and issuer.
* ``MemoryStore()`` — an in-memory token store (``get``/``set``/``delete``) standing in for
  the keyring.
* ``NativeFapi(clerk)`` — what a native SDK does on the wire: ``_is_native=1`` and
  ``__clerk_api_version`` on every call, form bodies, the client JWT of each response's
  ``Authorization`` header sent back on the next call.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.server import EmbeddedBackend
from tests.conftest import FAST_TIMINGS
from tests.fakes.clerk_fapi import FakeClerk

API_VERSION = "2025-11-10"


@pytest.fixture
def clerk_fapi() -> Iterator[FakeClerk]:
    with FakeClerk() as fake:
        yield fake


def clerk_mode_backend(data_dir: Path, fake: FakeClerk, **overrides: Any) -> EmbeddedBackend:
    """An (unstarted) backend that verifies the fake's session JWTs, as `imagegen serve`
    does with CLERK_JWKS_URL and CLERK_ISSUER."""
    settings: dict[str, Any] = {
        **FAST_TIMINGS,
        "embedded": False,
        "dev_auth": False,
        "local_providers": True,
        "clerk_jwks_url": fake.jwks_url,
        "clerk_issuer": fake.url,
        **overrides,
    }
    return EmbeddedBackend(data_dir, **settings)


@pytest.fixture
def clerk_backend(tmp_path: Path, clerk_fapi: FakeClerk) -> Iterator[EmbeddedBackend]:
    backend = clerk_mode_backend(tmp_path / "clerk-backend", clerk_fapi).start()
    yield backend
    backend.stop()


class MemoryStore:
    """A token store kept in a dict, in place of the OS keyring."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


class NativeFapi:
    """A minimal native FAPI client (httpx), for tests of the fake and of the backend."""

    def __init__(self, fake: FakeClerk, api_version: str | None = API_VERSION) -> None:
        self.http = httpx.Client(base_url=fake.url, timeout=10)
        self.api_version = api_version
        self.client_jwt: str | None = None

    def call(
        self, method: str, path: str, form: dict[str, str] | None = None, **query: str
    ) -> httpx.Response:
        params = {"_is_native": "1", **query}
        if self.api_version:
            params["__clerk_api_version"] = self.api_version
        headers = {"Authorization": self.client_jwt} if self.client_jwt else {}
        resp = self.http.request(method, path, params=params, data=form, headers=headers)
        if resp.headers.get("authorization"):
            self.client_jwt = resp.headers["authorization"]
        return resp

    def ok(
        self, method: str, path: str, form: dict[str, str] | None = None, **query: str
    ) -> dict[str, Any]:
        resp = self.call(method, path, form, **query)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def sign_in(self, **form: str) -> dict[str, Any]:
        return self.ok("POST", "/v1/client/sign_ins", form)["response"]

    def step(self, sign_in_id: str, action: str, **form: str) -> dict[str, Any]:
        return self.ok("POST", f"/v1/client/sign_ins/{sign_in_id}/{action}", form)["response"]

    def session_token(self, session_id: str) -> str:
        token: str = self.ok("POST", f"/v1/client/sessions/{session_id}/tokens")["jwt"]
        return token

    def close(self) -> None:
        self.http.close()
