"""Fixtures the over-HTTP route tests share."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from backend.server import EmbeddedBackend
from tests.conftest import dev_token
from tests.integration.routes_support import api_client


@pytest.fixture
def client(backend: EmbeddedBackend) -> Iterator[httpx.Client]:
    """An httpx client for the per-test backend, signed in as the local user."""
    with api_client(backend.base_url, dev_token(backend)) as c:
        yield c
