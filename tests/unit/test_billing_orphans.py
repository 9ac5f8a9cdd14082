"""Judging a hold an orphan (docs/billing.md, "Who settles") against the calls racing it,
on a real database (SQLite and PostgreSQL).

A sweep judges holds from a list it read earlier, and a repeated key judges the hold it
found: by then the first call may have answered, or may not yet have registered its task.
Neither may be settled "server restarted" — that answers a generation the provider took
as failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from backend.billing.service import STOPPED, Billing
from backend.convex_host.database import ConvexDatabase
from tests.unit.convex_support import ALICE
from tests.unit.test_billing_holds import breakdown
from tests.unit.test_billing_holds import request as hold_request

QUEUED_BODY = {"queued": True, "requestId": "req-1"}


@pytest.fixture
def db(database_url: str) -> Iterator[ConvexDatabase]:
    with ConvexDatabase(database_url, starting_credits=100, slot_limit=2) as d:
        yield d


async def test_a_snapshot_whose_call_answered_since_is_no_orphan(db: ConvexDatabase) -> None:
    billing = Billing(db)
    hold, _ = await billing.open(ALICE, hold_request("orphan-0001"))
    [snapshot] = await billing.unsettled()  # a sweep's list: still "holding" here
    assert snapshot.state == "holding"
    # The call submits its job and its task ends, before the sweep judges the snapshot.
    await billing.record(hold, (200, QUEUED_BODY), job_key="local:job-1", request_id="req-1")
    assert not billing.running(hold.id)
    assert await billing.orphaned(snapshot) is False
    # Were it judged one anyway, the release leaves the submitted job and its answer.
    status, body = await billing.release_orphan(snapshot)
    assert (status, body["requestId"]) == (200, "req-1")
    current = await billing.get(hold.id)
    assert current is not None and current.state == "submitted"
    assert breakdown(db)["reserved"] == 8  # still held for the job, nothing settled


async def test_own_holds_are_no_orphans_while_a_hold_is_being_opened(
    db: ConvexDatabase,
) -> None:
    billing = Billing(db)
    hold, _ = await billing.open(ALICE, hold_request("orphan-0002"))
    # Another request is opening its hold: written (or being written) in a thread, its
    # task not registered yet. ``hold`` could be that one, as far as a judge can tell.
    other = asyncio.create_task(billing.open(ALICE, hold_request("orphan-0003", amount=2)))
    await asyncio.sleep(0)  # the other open has started
    if db.dialect == "sqlite":
        # Inline on SQLite (storage/offload.py): the open ended before any other
        # coroutine could run, so no judge can see that moment there.
        assert other.done()
    else:
        assert not other.done()  # in its worker thread
        assert await billing.orphaned(hold) is False
    await other
    # Nothing opening and no task: this process lost it, and it is released.
    assert await billing.orphaned(hold) is True
    status, body = await billing.release_orphan(hold)
    assert (status, body["code"]) == (STOPPED.status, STOPPED.code)
    assert breakdown(db) == {"total": 100, "reserved": 2, "available": 98}


async def test_a_hold_with_a_running_task_is_no_orphan(db: ConvexDatabase) -> None:
    billing = Billing(db)
    hold, _ = await billing.open(ALICE, hold_request("orphan-0003"))
    gate = asyncio.Event()

    async def work() -> tuple[int, dict[str, object]]:
        await gate.wait()
        return 200, QUEUED_BODY

    task = billing.run(hold, work())
    assert await billing.orphaned(hold) is False
    gate.set()
    await task
