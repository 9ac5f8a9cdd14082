"""Fixtures of the reliability suites: a real backend behind a fault-injecting proxy,
dev tokens for several users, and direct (read-only) looks into the backend's databases
(its SQLite files or the PostgreSQL database it was given, through the storage layer)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.app import CONVEX_DB_NAME
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.invariants import check_invariants
from backend.convex_host.tables import users
from backend.providers.local_queue_tables import jobs
from backend.providers.registry import LOCAL_DB_NAME
from backend.runner import free_port
from backend.server import EmbeddedBackend
from bench.reliability.db_read import read_rows
from bench.reliability.proxy import FaultProxy
from tests.conftest import FAST_TIMINGS
from tests.database_fixtures import BackendDatabases


def token_for(base_url: str, user_id: str) -> str:
    resp = httpx.post(f"{base_url}/api/dev/token", json={"userId": user_id}, timeout=10)
    resp.raise_for_status()
    return str(resp.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_api_error(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer is ``status`` with a JSON ``{error: <sentence>, code}`` body."""
    assert resp.status_code == status, (resp.status_code, resp.text[:300])
    body = resp.json()
    assert isinstance(body.get("error"), str) and body["error"].strip(), body
    if code is not None:
        assert body.get("code") == code, body
    assert "Traceback" not in resp.text
    return body


def invariant_problems(backend: EmbeddedBackend, user_id: str) -> list[str]:
    with ConvexDatabase(backend.config.database(CONVEX_DB_NAME)) as db:
        return check_invariants(db, user_id)


def credits_of(backend: EmbeddedBackend, user_id: str) -> tuple[float, float]:
    """(credits + additional, reserved) straight from the Convex host's table."""
    found = read_rows(
        backend.config.database(CONVEX_DB_NAME),
        select(
            (users.c.credits + users.c.additionalCredits).label("total"), users.c.reservedCredits
        ).where(users.c.subject == user_id),
        table=users.name,
    )
    if not found:
        return (0.0, 0.0)
    return (float(found[0]["total"]), float(found[0]["reservedCredits"]))


def local_jobs(backend: EmbeddedBackend) -> list[dict[str, Any]]:
    """The local provider's jobs in the order they were queued."""
    found = read_rows(
        backend.config.database(LOCAL_DB_NAME),
        select(jobs.c.id, jobs.c.request_json, jobs.c.state).order_by(jobs.c.seq),
        table=jobs.name,
    )
    return [{"id": r["id"], "state": r["state"], **json.loads(r["request_json"])} for r in found]


@dataclass
class Proxied:
    backend: EmbeddedBackend
    proxy: FaultProxy

    @property
    def url(self) -> str:
        return self.proxy.base_url


@pytest.fixture
def proxied(tmp_path: Path, backend_database: BackendDatabases) -> Iterator[Proxied]:
    """A backend whose public URL (so also upload and image URLs) is the fault proxy."""
    port = free_port()
    proxy = FaultProxy(port).start()
    backend = EmbeddedBackend(
        tmp_path / "backend",
        port=port,
        public_base_url=proxy.base_url,
        database_url=backend_database.url_for(tmp_path / "backend"),
        **FAST_TIMINGS,
    ).start()
    try:
        yield Proxied(backend, proxy)
    finally:
        backend.stop()
        proxy.stop()
