"""A server SIGKILLed inside a sync generate call, restarted on the same state: what its
hold does, on both dialects.

This pins down the crash harness's old intermittent failure deterministically. A killed
process cannot say goodbye, so for up to ``STALE_S`` after its last heartbeat no process
can tell it from a slow live one: right after the restart its hold is still ``holding``
(an audit taken then sees credits reserved). Nobody has to ask, though: the restarted
server's sweeper settles it (nothing charged) once the dead owner is stale, within the
bound the harness waits for, and a repeat of the key then replays that verdict.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from backend.billing import holds as hold_store
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.invariants import check_invariants
from backend.convex_host.tables import users
from backend.runner import free_port
from backend.storage.sql import first
from bench.reliability.backend_proc import BackendProcess
from bench.reliability.harness_db import (
    settle_bound_s,
    state_target,
    sync_call_in_flight,
    wait_until_settled,
)
from tests.conftest import dev_token
from tests.database_fixtures import BackendDatabases

pytestmark = [pytest.mark.both_databases, pytest.mark.timeout(240)]

GENERATE_PATH = "/api/mobile/generate-images"
SYNC = "img-imagen4-preview"
USER = "killed-server-user"
CREDITS = 1000
SWEEP_S = 0.2


def _post_and_forget(url: str, token: str, body: dict[str, object]) -> threading.Thread:
    """The client's generate call; its answer never comes (the server is killed)."""

    def call() -> None:
        try:
            httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        except httpx.HTTPError:
            pass  # the kill drops the connection: that is the point

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread


def _wait_for_call_in_flight(db: ConvexDatabase, since_ms: float, limit_s: float = 30) -> None:
    deadline = time.monotonic() + limit_s
    while not sync_call_in_flight(db, since_ms, [SYNC]):
        assert time.monotonic() < deadline, "the sync call never reached the provider"
        time.sleep(0.02)


def test_a_killed_servers_hold_is_settled_by_the_restarted_one(
    tmp_path: Path, backend_database: BackendDatabases
) -> None:
    data_dir = tmp_path / "backend"
    url = backend_database.url_for(data_dir)
    options: dict[str, float | str] = {"sync_s": 60.0, "credits": CREDITS, "sweep_s": SWEEP_S}
    if url is not None:
        options["database"] = url
    server = BackendProcess(data_dir, free_port(), **options).start()
    try:
        token = dev_token(server.base_url, USER)
        key = f"killed-{uuid.uuid4().hex}"
        body = {"prompt": "a fox", "model": SYNC, "idempotencyKey": key, "sessionTitle": "Fox"}
        with ConvexDatabase(state_target(data_dir, url)) as db:
            started_ms = time.time() * 1000
            caller = _post_and_forget(server.base_url + GENERATE_PATH, token, body)
            _wait_for_call_in_flight(db, started_ms)
            server.kill()  # between opening the hold and recording its answer
            caller.join(10)
            server.start()

            # The window the old failure fell into: the dead owner beat moments ago, so
            # the restarted server cannot know it is gone, and the hold stays held.
            left = hold_store.unsettled(db)
            assert [(h.key, h.state) for h in left] == [(key, "holding")]
            assert check_invariants(db, USER) != []  # an audit now would report a leak

            # Nobody asks for it; the restarted server settles it by its own rule.
            waited = wait_until_settled(db, settle_bound_s(server.last_kill, SWEEP_S))
            assert waited.unsettled == [], waited.problems()
            assert check_invariants(db, USER) == []
            with db.read() as conn:
                user = first(conn, select(users).where(users.c.subject == USER))
            assert user is not None
            assert (user["credits"], user["reservedCredits"]) == (CREDITS, 0)

        # The client's repeat of its key gets the settled verdict: nothing was charged.
        replay = httpx.post(
            server.base_url + GENERATE_PATH,
            json=body,
            headers={"Authorization": f"Bearer {dev_token(server.base_url, USER)}"},
            timeout=60,
        )
        assert replay.status_code == 502, replay.text
        assert replay.json()["code"] == "server_restarted"
        assert replay.json()["billing"]["settled"] is True
        assert replay.json()["billing"]["charged"] == 0
    finally:
        server.stop()
