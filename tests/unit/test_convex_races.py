"""Racing for the last slot / the last credits: exactly the available ones are granted.

Each mutation is one ``BEGIN IMMEDIATE`` transaction on SQLite and starts by locking the
user's row on PostgreSQL, so this holds between threads of one host and between processes
sharing the database (both dialects).
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from backend.auth.identity import Identity
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.invariants import check_invariants
from backend.convex_host.registry import run_function
from tests.unit.convex_support import count

USER = Identity("racer", {"iss": "test"})


def _hammer(db: ConvexDatabase, barrier: Any, path: str, args: dict[str, Any], tries: int) -> int:
    """Wait for every racer, then call `path` `tries` times; count the wins."""
    barrier.wait(timeout=30)  # a crashed racer must fail the test, not hang it
    wins = 0
    for _ in range(tries):
        result = run_function(db, "mutation", path, args, USER)
        wins += bool(result.get("ok") or result.get("success"))
    return wins


def _process_worker(database_url: str, barrier: Any, queue: Any) -> None:
    # Runs in a child process: its own connections to the same database.
    try:
        with ConvexDatabase(database_url, starting_credits=5, slot_limit=3) as db:
            slots = _hammer(db, barrier, "generations:acquireGenerationSlot", {"type": "image"}, 3)
            credits = _hammer(db, barrier, "users:reserveCredits", {"amount": 1}, 3)
    except BaseException as exc:
        barrier.abort()  # release the other racers at once
        queue.put(repr(exc))
        return
    queue.put((slots, credits))


def test_threads_race_for_last_slot_and_last_credits(database_url: str) -> None:
    racers = 12
    with ConvexDatabase(database_url, starting_credits=7, slot_limit=4) as db:
        barrier = threading.Barrier(racers)
        with ThreadPoolExecutor(racers) as pool:
            slot_wins = list(
                pool.map(
                    lambda _: _hammer(
                        db, barrier, "generations:acquireGenerationSlot", {"type": "image"}, 2
                    ),
                    range(racers),
                )
            )
        assert sum(slot_wins) == 4

        # 12 racers, 7 credits, 2 credits each: exactly 3 reservations fit.
        barrier = threading.Barrier(racers)
        with ThreadPoolExecutor(racers) as pool:
            credit_wins = list(
                pool.map(
                    lambda _: _hammer(db, barrier, "users:reserveCredits", {"amount": 2}, 1),
                    range(racers),
                )
            )
        assert sum(credit_wins) == 3
        breakdown = run_function(db, "query", "users:getUserCreditsBreakdown", {}, USER)
        assert breakdown == {"total": 7, "reserved": 6, "available": 1}
        assert count(db, "users") == 1
        assert count(db, "generations") == 4
        assert len(check_invariants(db, "racer")) == 5  # 4 open slots + the reservation


def test_processes_race_for_last_slot_and_last_credits(database_url: str) -> None:
    db_path = database_url
    ConvexDatabase(db_path, starting_credits=5, slot_limit=3).close()
    ctx = multiprocessing.get_context("spawn")
    processes = 4
    barrier = ctx.Barrier(processes)
    queue = ctx.Queue()
    workers = [
        ctx.Process(target=_process_worker, args=(str(db_path), barrier, queue), daemon=True)
        for _ in range(processes)
    ]
    try:
        for w in workers:
            w.start()
        results = [queue.get(timeout=60) for _ in workers]
    finally:
        for w in workers:
            w.join(10)
            if w.is_alive():
                w.terminate()
                w.join()
    assert all(isinstance(r, tuple) for r in results), results
    assert sum(slots for slots, _ in results) == 3
    assert sum(credits for _, credits in results) == 5
    with ConvexDatabase(db_path, starting_credits=5, slot_limit=3) as db:
        breakdown = run_function(db, "query", "users:getUserCreditsBreakdown", {}, USER)
        assert breakdown == {"total": 5, "reserved": 5, "available": 0}
