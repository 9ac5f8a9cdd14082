"""F6: a backend that dies while rendering a local job must not park that job.

A killed process (its pid is gone) or a render cancelled at shutdown hands the job to the
next backend at once; the job is still rendered exactly once.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from backend.providers import local as local_module
from backend.providers.local_queue import JobQueue, pid_alive
from backend.store.local import LocalObjectStore
from catalog import MODELS
from tests.unit.test_local_provider import (
    BASE_URL,
    SECRET,
    FakeClock,
    make_provider,
    request,
    stored_generations,
)

ROOT = Path(__file__).resolve().parents[2]
# Claims the job like LocalProvider._finish does, then dies by SIGKILL mid-"render".
_CLAIM_AND_DIE = """
import os, signal, sys
from pathlib import Path
from backend.providers.local_queue import JobQueue
assert JobQueue(sys.argv[1]).claim_render(sys.argv[2])
os.kill(os.getpid(), signal.SIGKILL)
"""


def _claim_in_a_process_that_dies(queue_db: str, job_id: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", _CLAIM_AND_DIE, queue_db, job_id],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "files", BASE_URL, SECRET)


def test_pid_alive_tells_live_dead_and_zombie_processes_apart() -> None:
    assert pid_alive(os.getpid()) is True
    reaped = subprocess.Popen([sys.executable, "-c", "pass"])
    reaped.wait()
    assert pid_alive(reaped.pid) is False
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        stat = Path(f"/proc/{zombie.pid}/stat")
        # Not waited for: once it exits it is a zombie until we reap it.
        deadline = time.monotonic() + 30
        while stat.read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.01)
        assert pid_alive(zombie.pid) is False
    finally:
        zombie.wait()


async def test_a_killed_renderers_job_is_rendered_at_once_by_the_next_backend(
    store: LocalObjectStore, queue_db: str
) -> None:
    clock = FakeClock()
    first = make_provider(store, queue_db, clock)
    model = MODELS["img-flux-2-max"]
    job_id = (await first.submit(request(model.id, num_images=2))).job_id
    assert job_id is not None
    clock.advance(1.0)  # due
    killed = await asyncio.to_thread(_claim_in_a_process_that_dies, queue_db, job_id)
    assert killed.returncode == -9, killed.stderr.decode()
    row = first.jobs.get(job_id)
    assert row is not None and row.state == "rendering"
    # The dead claim is fresh (no lease has lapsed on the fake clock), yet the restarted
    # backend renders at once instead of answering IN_PROGRESS for minutes.
    restarted = make_provider(store, queue_db, clock)
    state = await restarted.status(model, job_id)
    assert state.status == "COMPLETED" and len(state.images) == 2
    assert len(stored_generations(store)) == 2
    again = await first.status(model, job_id)  # answered from the row, not re-rendered
    assert again.images == state.images and len(stored_generations(store)) == 2


async def test_a_live_renderer_keeps_its_claim(store: LocalObjectStore, queue_db: str) -> None:
    clock = FakeClock()
    first = make_provider(store, queue_db, clock)
    model = MODELS["img-nano-banana"]
    job_id = (await first.submit(request(model.id))).job_id
    assert job_id is not None
    clock.advance(1.0)
    assert first.jobs.claim_render(job_id) is True  # this process, alive, mid-render
    other = make_provider(store, queue_db, clock)
    assert (await other.status(model, job_id)).status == "IN_PROGRESS"
    assert stored_generations(store) == []
    first.jobs.close()
    other.jobs.close()


async def test_a_render_cancelled_at_shutdown_is_handed_back_at_once(
    store: LocalObjectStore, queue_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    first = make_provider(store, queue_db, clock)
    model = MODELS["img-nano-banana"]
    job_id = (await first.submit(request(model.id))).job_id
    assert job_id is not None
    clock.advance(1.0)
    started, unblock = threading.Event(), threading.Event()
    real_render = local_module.render_image

    def stuck_render(**kw: Any) -> bytes:
        started.set()
        unblock.wait(30)
        return real_render(**kw)

    monkeypatch.setattr(local_module, "render_image", stuck_render)
    caller = asyncio.create_task(first.status(model, job_id))
    assert await asyncio.to_thread(started.wait, 30)
    # What asyncio.run does to every task when the server's loop shuts down.
    first._renders[job_id].cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await first.aclose()
    unblock.set()
    row = first.jobs.get(job_id)
    assert row is not None and row.state == "pending"
    monkeypatch.setattr(local_module, "render_image", real_render)
    state = await make_provider(store, queue_db, clock).status(model, job_id)
    assert state.status == "COMPLETED" and len(state.images) == 1
    assert len(stored_generations(store)) == 1


def test_an_old_data_dir_gains_the_claim_columns(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as conn:  # the table as the first release created it
        conn.execute(
            "CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
            " model_id TEXT NOT NULL, request_json TEXT NOT NULL, created_at REAL NOT NULL,"
            " queue_s REAL NOT NULL, run_s REAL NOT NULL, fail INTEGER NOT NULL DEFAULT 0,"
            " fail_reason TEXT, state TEXT NOT NULL DEFAULT 'pending', claimed_at REAL,"
            " result_json TEXT, error TEXT)"
        )
        conn.execute(
            "INSERT INTO jobs (id, model_id, request_json, created_at, queue_s, run_s, state,"
            " claimed_at) VALUES ('j', 'img-nano-banana', '{}', 0, 0, 0, 'rendering', 0)"
        )
    conn.close()
    queue = JobQueue(db, lambda: 1000.0)
    # A claim from the old release, long unrenewed, is taken over.
    assert queue.claim_render("j") is True
    row = queue.get("j")
    assert row is not None and row.claimed_by == queue.owner
    queue.close()
