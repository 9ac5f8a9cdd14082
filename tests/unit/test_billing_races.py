"""Holds opened and settled by many callers at once (threads sharing one pool, as the
server's worker threads do; on PostgreSQL each transaction has its own connection and
waits on the user's row lock): never more slots than the limit, never more money reserved
than there is, and a hold settled exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from backend.billing.open_hold import open_hold
from backend.billing.settlement import settle
from backend.convex_host.database import ConvexDatabase
from backend.errors import ApiError
from tests.unit.convex_support import ALICE, qry
from tests.unit.test_billing_holds import request

T = TypeVar("T")
RACERS = 12


@pytest.fixture
def db(database_url: str) -> Iterator[ConvexDatabase]:
    # 100 credits, 8 a generation: 12 fit the money; the slot limit (5) is what binds.
    with ConvexDatabase(database_url, starting_credits=100, slot_limit=5) as d:
        yield d


def _race(work: Callable[[int], T]) -> list[T | str]:
    barrier = threading.Barrier(RACERS)

    def one(n: int) -> T | str:
        barrier.wait(timeout=30)
        try:
            return work(n)
        except ApiError as exc:
            return exc.code

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def test_parallel_holds_take_exactly_the_free_slots(db: ConvexDatabase) -> None:
    results = _race(lambda n: open_hold(db, ALICE, request(f"race-key-{n:04d}"))[0])
    opened = [r for r in results if not isinstance(r, str)]
    assert len(opened) == 5
    assert sorted(r for r in results if isinstance(r, str)) == ["too_many_generations"] * 7
    assert qry(db, "users:getUserCreditsBreakdown", {}) == {
        "total": 100,
        "reserved": 40,
        "available": 60,
    }
    assert qry(db, "generations:getActiveGenerations", {})["active"] == 5


def test_parallel_holds_never_overdraw(database_url: str) -> None:
    # 30 credits, 8 each: three fit, whatever the slot limit.
    with ConvexDatabase(database_url, starting_credits=30, slot_limit=50) as db:
        results = _race(lambda n: open_hold(db, ALICE, request(f"money-key-{n:04d}"))[0])
        assert sum(not isinstance(r, str) for r in results) == 3
        assert {r for r in results if isinstance(r, str)} == {"insufficient_credits"}
        breakdown: dict[str, Any] = qry(db, "users:getUserCreditsBreakdown", {})
        assert breakdown == {"total": 30, "reserved": 24, "available": 6}


def test_a_hold_settled_by_many_at_once_is_settled_once(db: ConvexDatabase) -> None:
    hold, _ = open_hold(db, ALICE, request("settle-key-0001", amount=8, num_images=4))
    urls = [f"http://s/{n}.png" for n in range(4)]
    results = _race(lambda _n: settle(db, hold.id, outcome="completed", urls=urls)[1])
    assert results.count(True) == 1 and results.count(False) == RACERS - 1
    assert qry(db, "users:getUserCreditsBreakdown", {}) == {
        "total": 92,
        "reserved": 0,
        "available": 92,
    }
