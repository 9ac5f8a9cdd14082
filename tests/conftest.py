"""Shared fixtures: a real embedded backend on a loopback port, and dev tokens for it."""

from __future__ import annotations

import os

# Qt must never try to open a display in tests; set before anything imports PySide6.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.server import EmbeddedBackend

# Fast local-provider timings: queued jobs finish in well under a second.
FAST_TIMINGS: dict[str, Any] = {"local_queue_s": 0.3, "local_run_s": 0.3}

BackendFactory = Callable[..., EmbeddedBackend]


def dev_token(
    base_url: str | EmbeddedBackend, user_id: str = "local-user", *, sub: str | None = None
) -> str:
    """A fresh token from the embedded backend's POST /api/dev/token (``sub`` = user_id)."""
    url = base_url.base_url if isinstance(base_url, EmbeddedBackend) else base_url
    resp = httpx.post(f"{url}/api/dev/token", json={"userId": sub or user_id}, timeout=10)
    resp.raise_for_status()
    token: str = resp.json()["token"]
    return token


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def backend_factory(tmp_path: Path) -> Iterator[BackendFactory]:
    """Start backends with config overrides; ``data_dir`` defaults to one shared tmp dir,
    so starting again after ``stop()`` is a restart on the same data. All are stopped
    at the end of the test."""
    started: list[EmbeddedBackend] = []

    def start(data_dir: Path | None = None, **overrides: Any) -> EmbeddedBackend:
        settings = {**FAST_TIMINGS, **overrides}
        backend = EmbeddedBackend(data_dir or tmp_path / "backend", **settings).start()
        started.append(backend)
        return backend

    yield start
    for backend in started:
        backend.stop()


@pytest.fixture
def backend(backend_factory: BackendFactory) -> EmbeddedBackend:
    """An embedded backend with a fresh data dir and fast local-provider timings."""
    return backend_factory()


from tests.database_fixtures import (  # noqa: E402  (after QT_QPA_PLATFORM is set)
    database_factory,
    database_url,
    postgres_cluster,
)

__all__ = ["database_factory", "database_url", "postgres_cluster"]
