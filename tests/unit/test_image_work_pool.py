"""ImageWorkPool: real spawned worker processes; lazy, niced, prioritised, crash-safe, and
no worker outlives the pool (or a SIGKILLed parent)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from backend.image_work_pool import (
    BACKGROUND,
    URGENT,
    WORKER_NICENESS,
    ImageWorkerCrashed,
    ImageWorkPool,
    WorkNotWanted,
)
from tests.unit import image_pool_jobs as jobs

REPO = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie (an exited child nobody reaped yet)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = next((line for line in status.splitlines() if line.startswith("State:")), "")
    return "Z" not in state.split()[1:2]


async def wait_all_gone(pids: list[int], timeout_s: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        left = [pid for pid in pids if alive(pid)]
        if not left:
            return []
        await asyncio.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


async def test_starts_lazily_and_runs_in_niced_worker_processes() -> None:
    pool = ImageWorkPool(workers=2)
    assert not pool.started and pool.worker_pids() == []
    try:
        pid, niceness = await pool.run(jobs.pid_and_niceness)
        assert pool.started
        assert pid != os.getpid()
        assert niceness >= min(19, os.nice(0) + WORKER_NICENESS)
        assert await pool.run(jobs.add, 2, 3) == 5
    finally:
        await pool.close()


def _niceness_of(pid: int) -> int:
    """A process's nice value from /proc/<pid>/stat (field 19)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
async def test_workers_are_niced_from_birth_not_only_once_their_imports_are_done() -> None:
    """A spawned worker imports for about a second before its initializer runs; spawned at
    the server's priority, that second took half the loop's core in the first burst that
    needed an image (docs/benchmarks.md, "Fourth pass")."""
    pool = ImageWorkPool(workers=2)
    expected = min(19, os.nice(0) + WORKER_NICENESS)
    job = asyncio.create_task(pool.run(jobs.pid_and_niceness))
    try:
        seen: dict[int, int] = {}
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            for pid in pool.worker_pids():
                # Read at once, while the fresh interpreter is still importing.
                seen.setdefault(pid, _niceness_of(pid))
            await asyncio.sleep(0.001)
        assert len(seen) == 2, "both workers start with the first job"
        assert all(niceness >= expected for niceness in seen.values()), seen
        _, in_job = await job
        assert in_job == expected  # the initializer did not lower it a second time
    finally:
        await pool.close()


async def test_an_exception_in_the_job_is_raised_as_it_is() -> None:
    pool = ImageWorkPool(workers=1)
    try:
        with pytest.raises(ValueError, match="a readable reason"):
            await pool.run(jobs.fail_with_value_error)
        assert await pool.run(jobs.add, 1, 1) == 2  # the worker is still fine
    finally:
        await pool.close()


async def test_a_crashing_worker_fails_its_job_readably_and_the_pool_recovers() -> None:
    pool = ImageWorkPool(workers=2)
    try:
        with pytest.raises(ImageWorkerCrashed) as caught:
            await pool.run(jobs.crash)
        assert "worker process stopped unexpectedly" in caught.value.message
        # Fresh workers take the next jobs; no turn was leaked by the failed one.
        assert await asyncio.gather(*(pool.run(jobs.add, i, 1) for i in range(6))) == [
            i + 1 for i in range(6)
        ]
        assert pool._busy == 0 and pool._waiting == []
    finally:
        await pool.close()


async def test_a_job_beside_a_crash_is_retried_not_lost(tmp_path: Path) -> None:
    """The crash takes down the job running beside it; both are run again, each alone, so
    the crasher's second crash cannot take the other job with it a second time."""
    pool = ImageWorkPool(workers=2)
    gate = tmp_path / "gate"
    try:
        innocent = asyncio.ensure_future(pool.run(jobs.wait_for_gate, str(gate)))
        await asyncio.sleep(0.5)  # let it reach its worker
        crash_sent = time.time()
        with pytest.raises(ImageWorkerCrashed):
            await pool.run(jobs.crash)
        gate.write_text("open")
        started = await innocent
        assert started >= crash_sent  # the run that answered is the retry, after the crash
    finally:
        await pool.close()


async def test_urgent_work_goes_before_background_work(tmp_path: Path) -> None:
    pool = ImageWorkPool(workers=1)
    gate = tmp_path / "gate"
    try:
        blocker = asyncio.ensure_future(pool.run(jobs.wait_for_gate, str(gate)))
        await asyncio.sleep(0)
        background = asyncio.ensure_future(pool.run(jobs.started_at, priority=BACKGROUND))
        urgent = asyncio.ensure_future(pool.run(jobs.started_at, priority=URGENT))
        await asyncio.sleep(0.1)
        gate.write_text("open")
        await blocker
        assert await urgent < await background
    finally:
        await pool.close()


async def test_a_caller_that_leaves_before_its_turn_never_reaches_a_worker(
    tmp_path: Path,
) -> None:
    pool = ImageWorkPool(workers=1)
    gate, marker = tmp_path / "gate", tmp_path / "ran"
    try:
        blocker = asyncio.ensure_future(pool.run(jobs.wait_for_gate, str(gate)))
        await asyncio.sleep(0)
        left = asyncio.ensure_future(pool.run(jobs.touch, str(marker)))
        await asyncio.sleep(0.1)
        left.cancel()
        gate.write_text("open")
        await blocker
        assert await pool.run(jobs.add, 1, 2) == 3  # the next job runs after the blocker
        assert not marker.exists()
        with pytest.raises(asyncio.CancelledError):
            await left
        assert pool._busy == 0 and pool._waiting == []
    finally:
        await pool.close()


async def test_work_no_longer_wanted_at_its_turn_is_dropped(tmp_path: Path) -> None:
    pool = ImageWorkPool(workers=1)
    marker = tmp_path / "ran"

    async def no() -> bool:
        return False

    try:
        with pytest.raises(WorkNotWanted):
            await pool.run(jobs.touch, str(marker), still_wanted=no)
        assert not marker.exists() and pool._busy == 0
    finally:
        await pool.close()


async def test_close_leaves_no_worker_behind_and_refuses_more_work() -> None:
    pool = ImageWorkPool(workers=2)
    await asyncio.gather(*(pool.run(jobs.add, i, i) for i in range(4)))
    pids = pool.worker_pids()
    assert pids and all(alive(pid) for pid in pids)
    await pool.close()
    assert await wait_all_gone(pids, timeout_s=5) == []
    with pytest.raises(asyncio.CancelledError):
        await pool.run(jobs.add, 1, 1)


PARENT = textwrap.dedent(
    """
    import asyncio, sys, time
    from backend.image_work_pool import ImageWorkPool
    from tests.unit import image_pool_jobs as jobs

    async def main() -> None:
        pool = ImageWorkPool(workers=2)
        await asyncio.gather(*(pool.run(jobs.add, i, 1) for i in range(4)))
        print(" ".join(map(str, pool.worker_pids())), flush=True)
        time.sleep(60)

    asyncio.run(main())
    """
)


def test_workers_exit_when_their_server_is_sigkilled() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", PARENT], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert pids and all(alive(pid) for pid in pids)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [pid for pid in pids if alive(pid)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
