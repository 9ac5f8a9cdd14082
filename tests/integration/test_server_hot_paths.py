"""The hot paths' SQL, counted: what a loaded server does per call (docs/benchmarks.md,
"Fifth pass").

Building a Core statement and its cache key cost more than running it on SQLite, so every
statement a generate call, a status poll or the credits query runs is built once and bound
at execution; a poll of a finished job answers from the results cache; and the garbage
collector of a started server leaves its start-up objects alone.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.sql import ClauseElement

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
    known = {id(s) for s in first.statements}
    built_again = [s for s in second.statements if id(s) not in known]
    dialect = backend.app.state.convex_db.engine.dialect
    assert second.statements, "no statement was seen: the listener is not attached"
    assert [str(s.compile(dialect=dialect)) for s in built_again] == []


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
