"""Three `imagegen serve` processes on one PostgreSQL database, behind a loopback
round-robin balancer, sharing one redis-server: any process answers any request.

* 50 parallel slot acquisitions (Convex and the one-call generate route) spread over the
  three give exactly the per-user limit; parallel reservations never overdraw; one
  idempotency key sent 20 times at once across the three opens one hold, charged once.
* A process SIGKILLed mid-job loses nothing: a queued job it accepted is finished and
  settled by another, and a sync call it was running is settled (nothing charged) by
  another once its heartbeat goes stale, which the client's repeated key then answers.
* The reliability load (quick size) across the three ends with the invariant audit clean.

Each test ends with the invariant audit of every user it touched.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from backend.convex_host.database import ConvexDatabase
from backend.convex_host.invariants import check_invariants
from backend.convex_host.tables import holds
from bench.reliability.cluster import ServeCluster
from bench.reliability.load_cluster import run_cluster_load
from catalog.pricing import cost
from tests.conftest import dev_token
from tests.integration.platform_fixtures import redis_url
from tests.integration.routes_support import (
    GENERATE_PATH,
    api_client,
    assert_error,
    convex_value,
    credits_breakdown,
    resolve,
)
from tests.postgres_cluster import PostgresCluster

__all__ = ["redis_url"]  # the fixture, re-exported so pytest finds it here

QUEUED = "img-flux-2-max"
SYNC = "img-reve"
CREDITS = 200
SLOT_LIMIT = 4  # BackendConfig.slot_limit
BURST = 50
ClusterFactory = Callable[..., ServeCluster]


@pytest.fixture
def cluster_factory(
    postgres_cluster: PostgresCluster, redis_url: str, tmp_path: Path
) -> Iterator[ClusterFactory]:
    started: list[ServeCluster] = []

    def start(**knobs: Any) -> ServeCluster:
        cluster = ServeCluster(
            tmp_path / "shared", postgres_cluster.new_database(), redis_url, size=3, **knobs
        )
        started.append(cluster.start())
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


def audit_users(cluster: ServeCluster, *subjects: str) -> list[str]:
    """The invariant audit, read straight from the shared database."""
    with ConvexDatabase(cluster.database_url) as db:
        return [p for subject in subjects for p in check_invariants(db, subject)]


def spread(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> list[int]:
    return [after["sent"][port] - before["sent"][port] for port in sorted(after["sent"])]


async def burst(
    base_url: str, token: str, calls: list[tuple[str, dict[str, Any]]]
) -> list[httpx.Response]:
    """All the calls at once (one connection each, so the balancer spreads them)."""
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=len(calls))
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits) as client:
        return list(
            await asyncio.gather(
                *(client.post(path, json=body, timeout=120) for path, body in calls)
            )
        )


def convex_call(path: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "/convex/api/mutation", {"path": path, "args": args, "format": "json"}


def at_rest(total: float) -> dict[str, float]:
    """A credits breakdown with nothing reserved."""
    return {"total": total, "reserved": 0, "available": total}


def gen_body(key: str, model: str = QUEUED) -> dict[str, Any]:
    return {"prompt": f"three processes {key}", "model": model, "idempotencyKey": key}


def test_parallel_slots_and_reservations_across_three_processes(
    cluster_factory: ClusterFactory,
) -> None:
    # No sweeper: a job ends (and frees its slot) only when the test polls it, so no slot
    # can free up in the middle of a burst and the counts are exact.
    cluster = cluster_factory(queue_s=1.0, run_s=0.5, credits=CREDITS, rate_limit=10_000, sweep_s=0)
    lb = cluster.base_url
    price = cost(QUEUED, 1)

    # 50 Convex slot acquisitions at once: exactly the limit, from all three processes.
    token = dev_token(lb, "slots")
    before = cluster.stats()
    answers = asyncio.run(
        burst(lb, token, [convex_call("generations:acquireGenerationSlot", {})] * BURST)
    )
    assert min(spread(before, cluster.stats())) >= BURST // 3
    values = [r.json()["value"] for r in answers if r.status_code == 200]
    assert len(values) == BURST, [r.text for r in answers if r.status_code != 200][:3]
    won = [v["generationId"] for v in values if v["ok"]]
    assert len(won) == SLOT_LIMIT
    assert {v["reason"] for v in values if not v["ok"]} == {"limit_reached"}
    with api_client(lb, token) as client:
        for slot in won:
            end = {"generationId": slot, "status": "completed"}
            convex_value(client, "mutation", "generations:updateGenerationStatus", end)

    # 50 reservations of 7 at once: 28 fit in 200, none more.
    token = dev_token(lb, "reserve")
    answers = asyncio.run(
        burst(lb, token, [convex_call("users:reserveCredits", {"amount": 7})] * BURST)
    )
    granted = [r.json()["value"]["success"] for r in answers]
    assert granted.count(True) == CREDITS // 7
    with api_client(lb, token) as client:
        assert credits_breakdown(client)["reserved"] == 7 * (CREDITS // 7)
        convex_value(
            client, "mutation", "users:releaseReservedCredits", {"amount": 7 * (CREDITS // 7)}
        )

    # 50 one-call generations at once: the slot limit binds.
    token = dev_token(lb, "generate-slots")
    answers = asyncio.run(
        burst(lb, token, [(GENERATE_PATH, gen_body(f"slot-key-{i:04d}")) for i in range(BURST)])
    )
    opened = [r.json() for r in answers if r.status_code == 200]
    assert len(opened) == SLOT_LIMIT
    for refused in (r for r in answers if r.status_code != 200):
        assert_error(refused, 429, "too_many_generations")
    with api_client(lb, token) as client:
        for answer in opened:
            assert resolve(client, answer["requestId"], QUEUED)["success"] is True
        after = credits_breakdown(client)
        assert after == at_rest(CREDITS - SLOT_LIMIT * price)

    # 50 at once with room for two and a half: the money binds, never overdrawn.
    token = dev_token(lb, "generate-money")
    parked = CREDITS - (2 * price + price // 2)
    with api_client(lb, token) as client:
        convex_value(client, "mutation", "users:reserveCredits", {"amount": parked})
    answers = asyncio.run(
        burst(lb, token, [(GENERATE_PATH, gen_body(f"money-key-{i:04d}")) for i in range(BURST)])
    )
    opened = [r.json() for r in answers if r.status_code == 200]
    assert len(opened) == 2
    for refused in (r for r in answers if r.status_code != 200):
        assert_error(refused, 402, "insufficient_credits")
    with api_client(lb, token) as client:
        assert credits_breakdown(client)["available"] == price // 2
        convex_value(client, "mutation", "users:releaseReservedCredits", {"amount": parked})
        for answer in opened:
            assert resolve(client, answer["requestId"], QUEUED)["success"] is True
        assert credits_breakdown(client)["total"] == CREDITS - 2 * price

    # One key 20 times at once across the three: one hold, one job, charged once.
    token = dev_token(lb, "same-key")
    answers = asyncio.run(burst(lb, token, [(GENERATE_PATH, gen_body("same-key-0001"))] * 20))
    assert {r.status_code for r in answers} == {200}, [r.text for r in answers][:3]
    assert len({r.json()["requestId"] for r in answers}) == 1
    with api_client(lb, token) as client:
        assert resolve(client, answers[0].json()["requestId"], QUEUED)["success"] is True
        # The key reused for another body, on any process: refused, nothing opened.
        for _ in range(3):
            reused = {**gen_body("same-key-0001"), "prompt": "something else"}
            assert_error(client.post(GENERATE_PATH, json=reused), 422, "idempotency_key_mismatch")
        assert credits_breakdown(client) == at_rest(CREDITS - price)
    subjects = ("slots", "reserve", "generate-slots", "generate-money", "same-key")
    assert audit_users(cluster, *subjects) == []


def wait_for_hold(database_url: str, key: str, deadline_s: float = 60.0) -> None:
    """Until the call with ``key`` has opened its hold: the kill must land mid-call."""
    engine = create_engine(database_url)
    deadline = time.monotonic() + deadline_s  # a give-up bound, not a timing claim
    try:
        while True:
            with engine.connect() as conn:
                state = conn.execute(select(holds.c.state).where(holds.c.key == key)).scalar()
            if state is not None:
                assert state == "holding", state
                return
            assert time.monotonic() < deadline, "the sync call never opened its hold"
            time.sleep(0.05)
    finally:
        engine.dispose()


def test_a_process_killed_mid_job_loses_nothing(cluster_factory: ClusterFactory) -> None:
    # Long enough that the kills land inside the queued job and inside the sync call.
    cluster = cluster_factory(queue_s=3.0, run_s=0.5, sync_s=30.0, credits=CREDITS, sweep_s=1.0)
    lb = cluster.base_url
    token = dev_token(lb, "survivor")
    queued_price, sync_price = cost(QUEUED, 1), cost(SYNC, 1)

    # A queued job accepted by member 0, which dies before the job is due.
    with api_client(cluster.member_url(0), token) as first:
        accepted = first.post(GENERATE_PATH, json=gen_body("killed-queued-01"))
    assert accepted.status_code == 200, accepted.text
    request_id = accepted.json()["requestId"]
    cluster.kill(0)

    # A sync call running on member 1, which dies mid-call.
    lost: list[BaseException] = []

    def doomed_call() -> None:
        try:
            with api_client(cluster.member_url(1), token) as client:
                client.post(GENERATE_PATH, json=gen_body("killed-sync-0001", SYNC))
        except httpx.TransportError as exc:
            lost.append(exc)

    caller = threading.Thread(target=doomed_call)
    caller.start()
    with api_client(lb, token) as client:
        wait_for_hold(cluster.database_url, "killed-sync-0001")
        cluster.kill(1)
        caller.join(30)
        assert len(lost) == 1, "the killed process must not have answered"
        assert not cluster.alive(0) and not cluster.alive(1)

        # The queued job: finished and settled by the survivor, its images served.
        done = resolve(client, request_id, QUEUED)
        assert done["success"] is True and len(done["images"]) == 1
        assert client.get(done["images"][0]["url"]).status_code == 200
        again = client.post(GENERATE_PATH, json=gen_body("killed-queued-01"))
        assert again.status_code == 200 and again.json()["requestId"] == request_id
        assert again.json()["billing"]["charged"] == queued_price

        # The sync call: the repeated key gets the settled answer once the dead process's
        # heartbeat is stale (STALE_S); until then it is "still in progress".
        deadline = time.monotonic() + 120  # a give-up bound, not a timing claim
        while True:
            repeat = client.post(GENERATE_PATH, json=gen_body("killed-sync-0001", SYNC))
            if repeat.status_code != 409:
                break
            assert_error(repeat, 409, "request_in_progress")
            assert time.monotonic() < deadline, "the orphaned sync call was never settled"
        body = assert_error(repeat, 502, "server_restarted")
        assert body["billing"]["settled"] is True and body["billing"]["charged"] == 0
        assert credits_breakdown(client) == at_rest(CREDITS - queued_price)
    assert sync_price > 0
    stats = cluster.stats()
    assert stats["refused"][str(cluster.ports[0])] > 0  # the balancer skipped the dead one
    assert audit_users(cluster, "survivor") == []


def test_reliability_load_quick_across_three_processes(
    postgres_cluster: PostgresCluster, redis_url: str, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    result, stats = run_cluster_load(
        tmp_path / "shared", postgres_cluster.new_database(), redis_url, 10, 2, log_dir=logs
    )
    problems = (result.failed, result.problems, f"server logs in {logs}")
    assert result.failed == [] and result.problems == [], problems
    assert result.completed == 20
    assert all(sent > 0 for sent in stats["sent"].values()), stats
