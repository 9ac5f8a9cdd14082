"""The long polls' waiters woken by a change made in "another process": the local
provider's ``wait`` (a job cancelled or rendered elsewhere), ``Billing.replay`` (a
repeated key waiting for the first call's answer) and ``Billing.wait_settled``.

Two provider / billing objects with their own connections and their own notifiers stand
for two server processes on one database. On PostgreSQL their notifiers are LISTEN/NOTIFY
(or Redis pub/sub) with a 60 s safety net and every wait here is shorter than that, so a
waiter that answers with the change was woken by the notification, not by a recheck. On
SQLite both share the one in-process notifier (the embedded default), which must still
behave exactly as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from backend.billing.service import Billing
from backend.convex_host.database import ConvexDatabase
from backend.providers.base import ProviderRequest
from backend.providers.local import LocalProvider
from backend.providers.local_queue import CANCELLED
from backend.storage.notify import HOLD, JOB, InProcessNotifier, Notifier
from backend.storage.notify_postgres import PostgresNotifier
from backend.storage.notify_redis import RedisNotifier
from backend.store.local import LocalObjectStore
from catalog import MODELS
from tests.database_fixtures import DIALECTS
from tests.integration.platform_fixtures import redis_url
from tests.postgres_cluster import PostgresCluster
from tests.unit.convex_support import ALICE
from tests.unit.test_billing_holds import request as hold_request

__all__ = ["redis_url"]  # the fixture, re-exported so pytest finds it here

MODEL = MODELS["img-nano-banana"]  # a queued model
SAFETY_NET_S = 60.0  # longer than any wait below
WAIT_S = 20.0
Notifiers = tuple[Notifier, Notifier]


# Where the two "processes" meet: SQLite with the in-process notifier (the embedded
# default), PostgreSQL with LISTEN/NOTIFY, PostgreSQL with Redis pub/sub.
SETUPS = [
    name
    for name, dialect in (("sqlite", "sqlite"), ("listen", "postgresql"), ("redis", "postgresql"))
    if dialect in DIALECTS
]


@pytest.fixture(params=SETUPS)
def setup(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(setup: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if setup == "sqlite":
        return str(tmp_path / "db" / "convex.sqlite3")
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return cluster.new_database()


@pytest.fixture
async def notifiers(
    setup: str, database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[Notifiers]:
    """(process A's, process B's) notifiers for the test's database."""
    if setup == "sqlite":
        one = InProcessNotifier(SAFETY_NET_S)
        yield one, one
        return
    make: Callable[[], Notifier]
    if setup == "listen":
        make = lambda: PostgresNotifier(database_url, SAFETY_NET_S)  # noqa: E731
    else:
        url = request.getfixturevalue("redis_url")
        make = lambda: RedisNotifier(url, SAFETY_NET_S)  # noqa: E731
    a, b = make(), make()
    await a.start()
    await b.start()
    yield a, b
    await a.close()
    await b.close()


async def _listening(notifier: Notifier, channel: str, key: str) -> None:
    """Until a waiter listens on ``key`` (a readiness wait, not a timing assertion)."""
    for _ in range(1000):
        if notifier.waiters.count(channel, key):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"nobody waited on {channel} {key}")


def _provider(tmp_path: Path, database_url: str, notifier: Notifier) -> LocalProvider:
    store = LocalObjectStore(tmp_path / "files", "http://127.0.0.1:8765", b"w" * 32)
    return LocalProvider(store, database_url, queue_s=60.0, run_s=1.0, notifier=notifier)


def _job_request() -> ProviderRequest:
    return ProviderRequest(prompt="a tide clock", model=MODEL, aspect_ratio="1:1", num_images=1)


async def test_a_long_poll_wakes_when_another_process_cancels_the_job(
    tmp_path: Path, database_url: str, notifiers: Notifiers
) -> None:
    a = _provider(tmp_path, database_url, notifiers[0])
    b = _provider(tmp_path, database_url, notifiers[1])
    job_id = (await a.submit(_job_request())).job_id
    assert job_id is not None
    poll = asyncio.create_task(a.wait(MODEL, job_id, SAFETY_NET_S))  # due in 61 s
    await _listening(notifiers[0], JOB, job_id)
    assert await b.cancel(MODEL, job_id) is True
    # Well before the due time, the wait's end or a recheck: only a wake-up ends it (a
    # bound of seconds, not a latency measurement).
    async with asyncio.timeout(WAIT_S):
        state = await poll
    assert (state.status, state.error) == ("FAILED", CANCELLED)
    await a.aclose()
    await b.aclose()


async def test_a_long_poll_wakes_when_another_process_finishes_rendering(
    tmp_path: Path, database_url: str, notifiers: Notifiers
) -> None:
    a = _provider(tmp_path, database_url, notifiers[0])
    b = _provider(tmp_path, database_url, notifiers[1])
    a.queue_s = a.run_s = 0.0  # due at once
    job_id = (await a.submit(_job_request())).job_id
    assert job_id is not None
    # B is rendering it (a live claim): A's poll can only wait for B to finish.
    assert await asyncio.to_thread(b.jobs.claim_render, job_id) is True
    poll = asyncio.create_task(a.wait(MODEL, job_id, SAFETY_NET_S))
    await _listening(notifiers[0], JOB, job_id)
    assert not poll.done()
    image = {"key": "generations/x.png", "url": "http://x/x.png", "content_type": "image/png"}
    assert await asyncio.to_thread(b.jobs.complete, job_id, [image]) is True
    async with asyncio.timeout(WAIT_S):
        state = await poll
    assert state.status == "COMPLETED"
    assert [i.url for i in state.images] == [a.store.public_url("generations/x.png")]
    await a.aclose()
    await b.aclose()


@pytest.fixture
async def two_billings(database_url: str, notifiers: Notifiers) -> AsyncIterator[list[Billing]]:
    dbs = [ConvexDatabase(database_url, starting_credits=100) for _ in range(2)]
    # A repeated key would wait as long as the safety net: only a wake-up ends it sooner.
    billings = [
        Billing(db, SAFETY_NET_S, notifier) for db, notifier in zip(dbs, notifiers, strict=True)
    ]
    for billing in billings:
        await billing.start()
    yield billings
    for billing, db in zip(billings, dbs, strict=True):
        await billing.close()
        db.close()


async def test_a_repeated_key_gets_the_answer_the_other_process_records(
    two_billings: list[Billing], notifiers: Notifiers
) -> None:
    first, repeat = two_billings
    hold, opened = await first.open(ALICE, hold_request("key-replay-0001"))
    assert opened
    replay = asyncio.create_task(repeat.replay(hold))
    await _listening(notifiers[1], HOLD, hold.id)
    assert not replay.done()
    await first.record(hold, (200, {"success": True, "images": [{"url": "u"}]}))
    # Well before the 60 s recheck would see it (a bound, not a latency measurement).
    async with asyncio.timeout(WAIT_S):
        status, body = await replay
    assert status == 200
    assert body["images"] == [{"url": "u"}] and body["billing"]["idempotencyKey"] == hold.key


async def test_a_settlement_elsewhere_ends_wait_settled(
    two_billings: list[Billing], notifiers: Notifiers
) -> None:
    settler, waiter = two_billings
    hold, _ = await settler.open(ALICE, hold_request("key-settle-0001"))
    watch = asyncio.create_task(waiter.wait_settled(hold, SAFETY_NET_S))
    await _listening(notifiers[1], HOLD, hold.id)
    await settler.record(hold, (200, {"queued": True}))  # a change, not a settlement
    await asyncio.sleep(0.2)
    assert not watch.done()
    await settler.settle(hold, "cancelled", error="Cancelled.")
    async with asyncio.timeout(WAIT_S):  # wait_settled never polls: only a wake-up ends it
        settled = await watch
    assert settled is not None and settled.settled and settled.outcome == "cancelled"
    assert await waiter.wait_settled(hold, 0.0) == settled  # already settled: at once
    other, _ = await settler.open(ALICE, hold_request("key-settle-0002"))
    assert await waiter.wait_settled(other, 0.2) is None  # nobody settles it
