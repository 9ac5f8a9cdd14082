"""The hot paths' SQL, counted: what a loaded server does per call (docs/benchmarks.md,
"Fifth" and "Sixth pass").

Building a Core statement and its cache key cost more than running it on SQLite, so every
statement a generate call, a status poll or the credits query runs is built once and bound
at execution; a poll of a finished job answers from the results cache; and the garbage
collector of a started server leaves its start-up objects alone. A request reaches its
route without walking included-router nodes, and a statement runs without SQLAlchemy's
execution events.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy import Engine, event
from sqlalchemy.sql import ClauseElement
from starlette.routing import Route

from backend.gc_tuning import OLDER_THRESHOLDS, YOUNG_THRESHOLD
from backend.server import EmbeddedBackend
from tests.conftest import BackendFactory, dev_token
from tests.integration.routes_support import (
    GENERATE_PATH,
    STATUS_PATH,
    api_client,
    credits_breakdown,
)

QUEUED = "img-flux-2-max"
SYNC = "img-imagen4-preview"


class Executed:
    """Every Core statement the process executes meanwhile (kept, so ids stay unique)."""

    def __init__(self) -> None:
        self.statements: list[ClauseElement] = []
        self._lock = threading.Lock()

    def __call__(self, conn: Any, clause: Any, *_args: Any) -> None:
        if isinstance(clause, ClauseElement):
            with self._lock:
                self.statements.append(clause)


@contextmanager
def executed() -> Iterator[Executed]:
    seen = Executed()
    event.listen(Engine, "before_execute", seen)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_execute", seen)


def _one_user_round(backend: EmbeddedBackend, user: str) -> None:
    """A user's first calls: a queued generation polled to its end, a sync one, credits."""
    with api_client(backend.base_url, dev_token(backend, user)) as client:
        body = {"prompt": f"a lighthouse for {user}", "model": QUEUED}
        queued = client.post(GENERATE_PATH, json=body)
        assert queued.status_code == 200, queued.text
        params = {"requestId": queued.json()["requestId"], "modelId": QUEUED, "wait": 10}
        deadline = time.monotonic() + 60
        while (answer := client.get(STATUS_PATH, params=params).json()).get("queued"):
            assert time.monotonic() < deadline, answer
        assert answer.get("success") is True, answer
        sync = client.post(GENERATE_PATH, json={"prompt": "a harbour", "model": SYNC})
        assert sync.status_code == 200 and sync.json().get("success") is True, sync.text
        assert credits_breakdown(client)["reserved"] == 0


def test_the_hot_paths_run_only_statements_built_once(backend_factory: BackendFactory) -> None:
    backend = backend_factory(local_queue_s=0.2, local_run_s=0.2)
    with executed() as first:
        _one_user_round(backend, "round-one")
    with executed() as second:
        _one_user_round(backend, "round-two")
    assert second.statements, "no statement was seen: the listener is not attached"
    # One statement structure run by two statement objects was built per call. (Judged
    # by structure, not by "new in round two": a statement run once, such as a render
    # claim's heartbeat that happened to fall in round two, cannot be told from one built
    # once.) The structure is SQLAlchemy's own cache key for the statement, which leaves
    # out bound values and tells a locking read from a plain one (their SQLite text is
    # the same).
    dialect = backend.app.state.convex_db.engine.dialect
    objects: dict[Any, set[int]] = {}
    sql: dict[Any, str] = {}
    for statement in first.statements + second.statements:
        key = statement._generate_cache_key()
        key = key.key if key is not None else str(statement.compile(dialect=dialect))
        objects.setdefault(key, set()).add(id(statement))
        sql.setdefault(key, str(statement.compile(dialect=dialect)))
    assert [sql[key] for key, ids in objects.items() if len(ids) > 1] == []


def test_a_poll_of_a_finished_job_answers_from_the_cache(backend_factory: BackendFactory) -> None:
    """The settled hold sends a later poll to the cached images: same answer, no render."""
    backend = backend_factory(local_queue_s=0.1, local_run_s=0.1)
    with api_client(backend.base_url, dev_token(backend)) as client:
        queued = client.post(GENERATE_PATH, json={"prompt": "a barn", "model": QUEUED})
        params = {"requestId": queued.json()["requestId"], "modelId": QUEUED, "wait": 10}
        while (first := client.get(STATUS_PATH, params=params).json()).get("queued"):
            pass
        assert first.get("success") is True, first
        with executed() as again:
            second = client.get(STATUS_PATH, params=params).json()
    assert second == first
    dialect = backend.app.state.convex_db.engine.dialect
    sql = [str(s.compile(dialect=dialect)) for s in again.statements]
    assert any("rehosted" in s for s in sql), sql
    assert not [s for s in sql if s.lstrip().startswith(("UPDATE", "INSERT"))], sql


def test_a_started_server_spaces_out_its_garbage_collections(backend: EmbeddedBackend) -> None:
    """Full collections walked every object the server holds, each a pause of every
    request in flight; after start-up they walk only what came later (gc_tuning.py)."""
    assert gc.get_threshold() == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    assert gc.get_freeze_count() > 10_000  # the modules, classes and tables of the server


def test_requests_walk_the_apps_own_routes(backend: EmbeddedBackend) -> None:
    """Every route is registered on the app itself. Since FastAPI 0.137 each
    ``include_router`` leaves a node that every request walks before it reaches its
    route (~0.1 ms of each call with our ten routers: backend/app.py, add_routes)."""
    routes = backend.app.router.routes
    assert routes and all(isinstance(route, (APIRoute, Route)) for route in routes), routes
    paths = {route.path for route in routes if isinstance(route, (APIRoute, Route))}
    assert {GENERATE_PATH, STATUS_PATH, "/healthz", "/convex/api/query"} <= paths


CONNECTION_EVENTS = (
    "begin",
    "commit",
    "rollback",
    "before_execute",
    "after_execute",
    "before_cursor_execute",
    "after_cursor_execute",
)


def test_statements_run_without_sqlalchemys_execution_events(backend: EmbeddedBackend) -> None:
    """One connection-event listener on an engine makes SQLAlchemy dispatch its execution
    events around every statement; SQLite's BEGIN is issued by hand instead
    (storage/engine.py). Writers still queue: tests/unit/test_billing_races.py."""
    state = backend.app.state
    engines = {
        "convex": state.convex_db.engine,
        "results": state.results.engine,
        "local jobs": state.providers.by_name("local").jobs.engine,
    }
    for name, engine in engines.items():
        listening = [e for e in CONNECTION_EVENTS if len(getattr(engine.dispatch, e))]
        assert not listening, (name, listening)
