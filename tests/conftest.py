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
def backend_factory(tmp_path: Path, backend_database: BackendDatabases) -> Iterator[BackendFactory]:
    """Start backends with config overrides; ``data_dir`` defaults to one shared tmp dir,
    so starting again after ``stop()`` is a restart on the same data. Each data dir's
    state lives in ``backend_database`` (the test's dialect). All are stopped at the end
    of the test."""
    started: list[EmbeddedBackend] = []

    def start(data_dir: Path | None = None, **overrides: Any) -> EmbeddedBackend:
        data_dir = data_dir or tmp_path / "backend"
        database = {"database_url": backend_database.url_for(data_dir)}
        settings = {**FAST_TIMINGS, **database, **overrides}
        backend = EmbeddedBackend(data_dir, **settings).start()
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
    DIALECTS,
    BackendDatabases,
    backend_database,
    database_factory,
    database_url,
    postgres_cluster,
)

__all__ = ["backend_database", "database_factory", "database_url", "postgres_cluster"]

# Suites whose backends run on every dialect (IMAGEGEN_TEST_DATABASES): all of
# tests/integration, and elsewhere the modules marked ``both_databases``.
BOTH_DATABASES_DIRS = ("integration",)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "both_databases: the backends this module starts run on SQLite and on PostgreSQL",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_database" not in metafunc.fixturenames:
        return
    path = Path(str(metafunc.definition.path))
    if path.parent.name in BOTH_DATABASES_DIRS or metafunc.definition.get_closest_marker(
        "both_databases"
    ):
        metafunc.parametrize("backend_database", DIALECTS, indirect=True, scope="module")
