"""How a generate call waits for its hold's work (docs/benchmarks.md, "Seventh pass"), on a
real database (SQLite and PostgreSQL).

A sync model's work runs in a task of its own that no caller cancels; the caller is woken
one turn of the loop after the work has its answer (``asyncio.wait`` on the task took
two). A queued model's work runs in the request's own task. Either way the hold counts as
running while its work runs, so no sweep or repeated key takes it for an orphan.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any

import pytest

from backend.billing.service import Answer, Billing
from backend.convex_host.database import ConvexDatabase
from tests.unit.convex_support import ALICE
from tests.unit.test_billing_holds import request as hold_request

ANSWER: Answer = (200, {"success": True})


@pytest.fixture
def db(database_url: str) -> Iterator[ConvexDatabase]:
    with ConvexDatabase(database_url, starting_credits=100, slot_limit=4) as d:
        yield d


class LoopTurns:
    """Counts the event loop's turns: a callback that schedules itself again each turn."""

    def __init__(self) -> None:
        self.count = 0
        self._handle: asyncio.Handle | None = None

    def _tick(self) -> None:
        self.count += 1
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def __enter__(self) -> LoopTurns:
        self._handle = asyncio.get_running_loop().call_soon(self._tick)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.cancel()


class GatedWork:
    """A provider call that answers once let go; ``finish`` lets it go and waits for the
    hold's work to end (not cancelled: it answered)."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.finished: list[Answer] = []

    async def __call__(self) -> Answer:
        await self.gate.wait()
        self.finished.append(ANSWER)
        return ANSWER

    async def finish(self, billing: Billing, hold_id: str) -> None:
        self.gate.set()
        for _ in range(100):
            if not billing.running(hold_id):
                break
            await asyncio.sleep(0.01)
        assert self.finished == [ANSWER] and not billing.running(hold_id)


Waiter = Callable[[Coroutine[Any, Any, Answer]], Awaitable[Answer | None]]


async def _by_asyncio_wait(work: Coroutine[Any, Any, Answer]) -> Answer | None:
    """How the route waited before: ``asyncio.wait`` on the work's task."""
    task = asyncio.get_running_loop().create_task(work)
    await asyncio.wait({task}, timeout=5)
    return task.result()


async def _turns_from_answer_to_waiter(wait: Waiter) -> int:
    """Turns of the loop between the work having its answer and its waiter running on."""
    answered_at: list[int] = []
    turns = LoopTurns()

    async def work() -> Answer:
        await asyncio.sleep(0)
        answered_at.append(turns.count)
        return ANSWER

    with turns:
        assert await wait(work()) == ANSWER
        return turns.count - answered_at[0]


async def test_the_waiter_wakes_one_turn_after_the_work_answers(db: ConvexDatabase) -> None:
    billing = Billing(db)
    hold, _ = await billing.open(ALICE, hold_request("handover-01"))

    async def by_handover(work: Coroutine[Any, Any, Answer]) -> Answer | None:
        return await billing.answer_of(hold, work, timeout_s=5)

    assert await _turns_from_answer_to_waiter(by_handover) == 1
    # What the route did before: a turn more for every sync call.
    assert await _turns_from_answer_to_waiter(_by_asyncio_wait) == 2


async def test_past_its_timeout_the_waiter_leaves_and_the_work_goes_on(
    db: ConvexDatabase,
) -> None:
    billing = Billing(db)
    hold, _ = await billing.open(ALICE, hold_request("handover-02"))
    work = GatedWork()
    assert await billing.answer_of(hold, work(), timeout_s=0.05) is None
    assert billing.running(hold.id)  # not cancelled: still the hold's work
    await work.finish(billing, hold.id)


async def test_a_waiter_that_is_cancelled_leaves_the_work_running(db: ConvexDatabase) -> None:
    billing = Billing(db)
    hold, _ = await billing.open(ALICE, hold_request("handover-03"))
    work = GatedWork()
    waiter = asyncio.create_task(billing.answer_of(hold, work(), timeout_s=30))
    await asyncio.sleep(0.01)
    waiter.cancel()  # the request's task goes (a server stopping, say)
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert billing.running(hold.id)
    await work.finish(billing, hold.id)


async def test_the_works_error_reaches_its_waiter_once(
    db: ConvexDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    billing = Billing(db)
    hold, _ = await billing.open(ALICE, hold_request("handover-04"))

    async def work() -> Answer:
        await asyncio.sleep(0)
        raise RuntimeError("the settlement's write failed")

    with pytest.raises(RuntimeError, match="settlement's write failed"):
        await billing.answer_of(hold, work(), timeout_s=5)
    await asyncio.sleep(0.01)
    gc.collect()  # an unretrieved task error would be logged now
    assert "never retrieved" not in caplog.text
    assert not billing.running(hold.id)


async def test_run_here_is_the_holds_work_while_it_runs(db: ConvexDatabase) -> None:
    billing = Billing(db)
    hold, _ = await billing.open(ALICE, hold_request("handover-05"))
    seen: list[bool] = []

    async def work() -> Answer:
        seen.append(billing.running(hold.id))
        assert await billing.orphaned(hold) is False
        return ANSWER

    turns = LoopTurns()
    with turns:
        assert await billing.run_here(hold, work()) == ANSWER
    assert seen == [True] and not billing.running(hold.id)
    assert turns.count == 0  # no other task: the work ran in this one, in this turn

    async def failing() -> Answer:
        raise RuntimeError("provider down")

    with pytest.raises(RuntimeError):
        await billing.run_here(hold, failing())
    assert not billing.running(hold.id)
