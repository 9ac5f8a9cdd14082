"""The local provider's job table in SQLite, so a queued job survives a backend restart.

A job's whole future is decided when it is submitted: how long it waits in the queue, how
long it "runs", and whether it fails. Its state is then derived from the clock, so nothing
has to tick in the background and a restarted backend picks up exactly where it was.

Only the rendering of a due job writes again: ``claim_render`` moves it from ``pending``
to ``rendering`` with a conditional UPDATE (one renderer wins, even across processes), and
``complete``/``fail`` store the outcome. A claim older than ``STALE_RENDER_S`` is assumed
to belong to a crashed process and may be taken over.

Every method is blocking and opens its own short-lived connection (thread-safe); the
provider runs them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STALE_RENDER_S = 120.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    model_id TEXT NOT NULL,
    request_json TEXT NOT NULL,
    created_at REAL NOT NULL,
    queue_s REAL NOT NULL,
    run_s REAL NOT NULL,
    fail INTEGER NOT NULL DEFAULT 0,
    fail_reason TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    claimed_at REAL,
    result_json TEXT,
    error TEXT
);
"""


@dataclass(frozen=True)
class JobRow:
    id: str
    model_id: str
    request: dict[str, Any]
    created_at: float
    queue_s: float
    run_s: float
    fail: bool
    fail_reason: str | None
    # pending -> rendering -> completed | failed
    state: str
    claimed_at: float | None
    result: list[dict[str, str]]
    error: str | None
    seq: int

    @property
    def starts_at(self) -> float:
        return self.created_at + self.queue_s

    @property
    def due_at(self) -> float:
        return self.created_at + self.queue_s + self.run_s


def _row(r: sqlite3.Row) -> JobRow:
    return JobRow(
        id=r["id"],
        model_id=r["model_id"],
        request=json.loads(r["request_json"]),
        created_at=r["created_at"],
        queue_s=r["queue_s"],
        run_s=r["run_s"],
        fail=bool(r["fail"]),
        fail_reason=r["fail_reason"],
        state=r["state"],
        claimed_at=r["claimed_at"],
        result=json.loads(r["result_json"]) if r["result_json"] else [],
        error=r["error"],
        seq=r["seq"],
    )


class JobQueue:
    """Blocking access to the jobs table at ``db_path`` (created on first use)."""

    def __init__(self, db_path: Path, clock: Callable[[], float] = time.time) -> None:
        self.db_path = Path(db_path)
        # Wall-clock time (not monotonic): due times must mean the same after a restart.
        self.clock = clock
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=10.0, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=10000")
            yield conn
        finally:
            conn.close()

    def create(
        self,
        model_id: str,
        request: dict[str, Any],
        *,
        queue_s: float,
        run_s: float,
        fail_reason: str | None,
    ) -> JobRow:
        job_id = uuid.uuid4().hex
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO jobs (id, model_id, request_json, created_at, queue_s, run_s,"
                " fail, fail_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    model_id,
                    json.dumps(request),
                    self.clock(),
                    max(0.0, queue_s),
                    max(0.0, run_s),
                    int(fail_reason is not None),
                    fail_reason,
                ),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> JobRow | None:
        with self._connect() as conn:
            r = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _row(r) if r is not None else None

    def position(self, job: JobRow) -> int:
        """1 + the number of jobs submitted before ``job`` that are still in the queue."""
        now = self.clock()
        with self._connect() as conn:
            (ahead,) = conn.execute(
                "SELECT COUNT(*) FROM jobs WHERE seq < ? AND created_at + queue_s > ?",
                (job.seq, now),
            ).fetchone()
        return int(ahead) + 1

    def claim_render(self, job_id: str) -> bool:
        """True if this caller now owns rendering the job (it was pending or stale)."""
        now = self.clock()
        with self._connect() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = 'rendering', claimed_at = ? WHERE id = ? AND"
                " (state = 'pending' OR (state = 'rendering' AND claimed_at < ?))",
                (now, job_id, now - STALE_RENDER_S),
            )
            return cur.rowcount == 1

    def complete(self, job_id: str, images: list[dict[str, str]]) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE jobs SET state = 'completed', result_json = ?, error = NULL WHERE id = ?",
                (json.dumps(images), job_id),
            )

    def fail(self, job_id: str, error: str) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE jobs SET state = 'failed', error = ? WHERE id = ?", (error, job_id)
            )

    def release(self, job_id: str) -> None:
        """Give a claim back (rendering was interrupted) so the next status call retries."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE jobs SET state = 'pending', claimed_at = NULL"
                " WHERE id = ? AND state = 'rendering'",
                (job_id,),
            )
