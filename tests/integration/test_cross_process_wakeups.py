"""Long polls woken across processes: two real `imagegen serve --database URL` on one
PostgreSQL database, with the wake-ups' safety net set to 120 s (WAKEUP_RECHECK_S).

Each waiter here would otherwise answer only at its own end (a 25 s long poll, a 20 s
replay wait) or at the 120 s recheck; that it answers within a few seconds of the change
made by the other process shows the notification crossed. The bounds are coarse (seconds
against tens of seconds), not latency measurements: those live in bench/.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, select

from backend.convex_host.tables import holds
from backend.providers.local_queue_tables import jobs
from tests.conftest import dev_token
from tests.integration.routes_support import GENERATE_PATH, STATUS_PATH, api_client
from tests.integration.serve_processes import ServeProcesses, Server
from tests.postgres_cluster import PostgresCluster

QUEUED_MODEL = "img-flux-2-max"
SYNC_MODEL = "img-reve"
CANCEL_PATH = "/api/generate-images/cancel"
LONG_POLL_S = 25  # the server's cap (max_wait_s)
# Well under the long poll's end, the replay's 20 s and the 120 s recheck.
WOKEN_WITHIN_S = 10.0


@dataclass(frozen=True)
class Pair:
    a: Server
    b: Server
    engine: Engine  # the shared database, read by the tests to know when to act


# One pair for the module (starting a server costs seconds): a queued job is due in a
# minute unless a test says otherwise, a sync model's provider call takes 3 s.
ENV = {"LOCAL_QUEUE_S": "60", "LOCAL_RUN_S": "0", "LOCAL_SYNC_S": "3"}


@pytest.fixture(scope="module")
def pair(
    postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    url = postgres_cluster.new_database()
    data_dir = tmp_path_factory.mktemp("wakeups") / "shared"  # keys; state is in PostgreSQL
    processes = ServeProcesses()
    flags = ["--data-dir", str(data_dir), "--dev-auth", "--local-providers", "--database", url]
    env = {"DATABASE_URL": "", "WAKEUP_RECHECK_S": "120", **ENV}
    servers = [processes.launch(flags, env) for _ in range(2)]  # both start at once
    engine = create_engine(url)
    try:
        for server in servers:
            server.ready()
        yield Pair(servers[0], servers[1], engine)
    finally:
        processes.stop_all()
        engine.dispose()


class Call(threading.Thread):
    """One HTTP call in the background, remembering its answer and when it came."""

    def __init__(self, call: Callable[[], httpx.Response]) -> None:
        super().__init__(daemon=True)
        self._call = call
        self.response: httpx.Response | None = None
        self.done_at = 0.0
        self.start()

    def run(self) -> None:
        self.response = self._call()
        self.done_at = time.monotonic()

    def body(self, timeout_s: float = 120) -> tuple[int, Any]:
        self.join(timeout_s)
        assert self.response is not None, "the call did not answer"
        return self.response.status_code, self.response.json()


def _until(check: Callable[[], Any], what: str, timeout_s: float = 60) -> Any:
    """A readiness wait on the database (not a timing assertion)."""
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {what}")
        time.sleep(0.005)
    return found


def _long_poll(client: httpx.Client, request_id: str, model: str) -> Callable[[], httpx.Response]:
    params = {"requestId": request_id, "modelId": model, "wait": str(LONG_POLL_S)}
    return lambda: client.get(STATUS_PATH, params=params)


def test_a_long_poll_on_a_wakes_when_b_cancels_the_job(pair: Pair) -> None:
    a, b = pair.a, pair.b  # the job is due long after the poll's end
    token = dev_token(a.base, "wake-cancel")
    with api_client(a.base, token) as on_a, api_client(b.base, token) as on_b:
        body = {"prompt": "a lantern", "model": QUEUED_MODEL, "idempotencyKey": "wake-cancel-1"}
        resp = on_a.post(GENERATE_PATH, json=body)
        assert resp.status_code == 200, resp.text
        poll = Call(_long_poll(on_a, resp.json()["requestId"], QUEUED_MODEL))
        time.sleep(1.0)  # let the poll start waiting (ordering only)
        assert poll.is_alive()
        cancelled_at = time.monotonic()
        cancel = on_b.post(CANCEL_PATH, json={"idempotencyKey": "wake-cancel-1"})
        assert cancel.status_code == 200 and cancel.json()["cancelled"] is True, cancel.text
        status, answer = poll.body()
    assert status == 200 and answer["success"] is False, answer
    assert "ancel" in answer["error"]
    assert poll.done_at - cancelled_at < WOKEN_WITHIN_S


def _paused_while_b_renders(
    on_a: httpx.Client, on_b: httpx.Client, b: Server, engine: Engine
) -> tuple[str, Call]:
    """A job submitted on A whose render B has claimed, with B paused (SIGSTOP) before
    it could finish: (its request id, B's status call that is rendering it)."""
    for attempt in range(5):
        body = {"prompt": "a kite", "model": QUEUED_MODEL, "idempotencyKey": f"wake-kite-{attempt}"}
        resp = on_a.post(GENERATE_PATH, json=body)
        assert resp.status_code == 200, resp.text
        request_id = resp.json()["requestId"]
        with engine.begin() as conn:
            job_id = conn.execute(
                select(jobs.c.id).order_by(jobs.c.created_at.desc()).limit(1)
            ).scalar_one()
            # A minute passes: the job is due now (its timing is read from its row).
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(queue_s=0.0))

        def state(job_id: str = job_id) -> str | None:
            with engine.connect() as conn:
                found = conn.execute(select(jobs.c.state).where(jobs.c.id == job_id))
                return found.scalar()

        params = {"requestId": request_id, "modelId": QUEUED_MODEL}
        rendering = Call(lambda p=params: on_b.get(STATUS_PATH, params=p))
        _until(lambda: state() in ("rendering", "completed"), "B claim the render")
        os.kill(b.proc.pid, signal.SIGSTOP)  # B holds the claim and cannot finish
        if state() == "rendering":
            return request_id, rendering
        os.kill(b.proc.pid, signal.SIGCONT)  # B was quicker than us: try again
        rendering.body()
    raise AssertionError("B always finished rendering before it could be paused")


def test_a_long_poll_on_a_wakes_when_b_finishes_the_job(pair: Pair) -> None:
    a, b, engine = pair.a, pair.b, pair.engine
    token = dev_token(a.base, "wake-render")
    with api_client(a.base, token) as on_a, api_client(b.base, token) as on_b:
        try:
            request_id, on_b_render = _paused_while_b_renders(on_a, on_b, b, engine)
            poll = Call(_long_poll(on_a, request_id, QUEUED_MODEL))
            time.sleep(1.0)  # let A's poll find the claim B holds and wait (ordering only)
            assert poll.is_alive(), "A answered while B, the renderer, was paused"
            resumed_at = time.monotonic()
        finally:
            os.kill(b.proc.pid, signal.SIGCONT)
        status, answer = poll.body()
        b_status, b_answer = on_b_render.body()
    assert status == 200 and answer.get("success") is True, answer
    assert b_status == 200 and b_answer["images"] == answer["images"]
    assert poll.done_at - resumed_at < WOKEN_WITHIN_S


def test_a_repeated_key_on_b_gets_as_answer_as_soon_as_a_records_it(pair: Pair) -> None:
    a, b, engine = pair.a, pair.b, pair.engine  # A's provider call takes 3 s
    token = dev_token(a.base, "wake-replay")
    key = "wake-replay-1"
    body = {"prompt": "a comet", "model": SYNC_MODEL, "idempotencyKey": key}
    with api_client(a.base, token) as on_a, api_client(b.base, token) as on_b:
        first = Call(lambda: on_a.post(GENERATE_PATH, json=body))

        def opened() -> bool:
            with engine.connect() as conn:
                return (
                    conn.execute(select(holds.c.state).where(holds.c.key == key)).first()
                    is not None
                )

        _until(opened, "A open the hold")  # so B's call is the repeat, A's the first
        repeat = Call(lambda: on_b.post(GENERATE_PATH, json=body))
        status_a, answer_a = first.body()
        status_b, answer_b = repeat.body()
    assert status_a == 200 and answer_a["success"] is True, answer_a
    # B waited for A's answer (a 409 request_in_progress at 20 s without the wake-up).
    assert status_b == 200, answer_b
    assert answer_b["images"] == answer_a["images"]
    assert answer_b["billing"]["idempotencyKey"] == key
    assert repeat.done_at - first.done_at < WOKEN_WITHIN_S
