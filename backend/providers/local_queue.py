"""The local provider's job table in SQLite, so a queued job survives a backend restart.

A job's whole future is decided when it is submitted: how long it waits in the queue, how
long it "runs", and whether it fails. Its state is then derived from the clock, so nothing
has to tick in the background and a restarted backend picks up exactly where it was.

Only the rendering of a due job writes again: ``claim_render`` moves it from ``pending``
to ``rendering`` inside one ``BEGIN IMMEDIATE`` transaction (one renderer wins, even across
processes), and ``complete``/``fail`` store the outcome.

A claim names its owner (one id per queue object, plus the process id and host) and is a
short lease: a heartbeat thread renews every claim the owner still holds each
``HEARTBEAT_S``. Another owner may take a claim over as soon as its process is known to be
gone (same host, pid not alive: a killed backend's restart re-renders at once), once its
lease has not been renewed for ``LEASE_S`` (a frozen or vanished process elsewhere), or
after ``STALE_RENDER_S`` whatever the heartbeat says (a render wedged forever).

Every method is blocking and opens its own short-lived connection (thread-safe); the
provider runs them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.private_files import private_sqlite

# The error of a job cancelled before it finished (the status route shows it as FAILED).
CANCELLED = "Cancelled."
# A claim not renewed for this long belongs to a process that stopped; it may be taken.
LEASE_S = 5.0
# How often the owner renews its claims: several beats fit in one lease.
HEARTBEAT_S = 1.0
# Backstop for a render that hangs in a live process: taken over even while renewed.
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
    error TEXT,
    claimed_by TEXT,
    claimed_pid INTEGER,
    claimed_host TEXT,
    heartbeat_at REAL
);
"""
# Added after the first release: a data dir made by it gets them with ALTER TABLE.
_CLAIM_COLUMNS = {
    "claimed_by": "TEXT",
    "claimed_pid": "INTEGER",
    "claimed_host": "TEXT",
    "heartbeat_at": "REAL",
}


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
    claimed_by: str | None = None
    heartbeat_at: float | None = None

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
        claimed_by=r["claimed_by"],
        heartbeat_at=r["heartbeat_at"],
    )


def pid_alive(pid: int) -> bool:
    """False only when this host certainly has no live process ``pid``.

    Anything uncertain counts as alive (the lease then decides): Windows, where signal 0
    is not a probe, and a pid we may not signal. A zombie (killed, not yet reaped by its
    parent) is dead: it will never renew or finish anything.
    """
    if os.name != "posix" or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # Field 3, after the parenthesised command name (which may itself hold spaces).
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _heartbeat(ref: weakref.ref[JobQueue], stop: threading.Event) -> None:
    """Renew the queue's claims until it holds none, is closed or is garbage collected."""
    while not stop.wait(HEARTBEAT_S):
        queue = ref()
        if queue is None or not queue.beat():
            return
        del queue  # hold no reference while asleep, so a dropped queue can be collected


class JobQueue:
    """Blocking access to the jobs table at ``db_path`` (created on first use).

    ``pid`` and ``host`` default to this process's; tests pass another pid to stand for
    a process that was killed.
    """

    def __init__(
        self,
        db_path: Path,
        clock: Callable[[], float] = time.time,
        *,
        pid: int | None = None,
        host: str | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        # Wall-clock time (not monotonic): due times must mean the same after a restart.
        self.clock = clock
        # A new id per queue object: a restarted backend never mistakes an old claim for
        # its own, even when the OS hands it the dead process's pid.
        self.owner = uuid.uuid4().hex
        self.pid = os.getpid() if pid is None else pid
        self.host = socket.gethostname() if host is None else host
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None
        private_sqlite(self.db_path)  # 0600 in a 0700 folder, before SQLite creates it
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            have = {r["name"] for r in conn.execute("PRAGMA table_info(jobs)")}
            for name, kind in _CLAIM_COLUMNS.items():
                if name not in have:
                    conn.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")

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

    def find_by_reference(self, reference: str) -> str | None:
        """The job a request named ``reference`` (a billing hold id) created, if any."""
        with self._connect() as conn:
            r = conn.execute(
                "SELECT id FROM jobs WHERE json_extract(request_json, '$.reference') = ?"
                " ORDER BY seq LIMIT 1",
                (reference,),
            ).fetchone()
        return str(r[0]) if r is not None else None

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
        """True if this caller now owns rendering the job (pending, or its claim is dead)."""
        now = self.clock()
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                r = conn.execute(
                    "SELECT state, claimed_at, claimed_by, claimed_pid, claimed_host,"
                    " heartbeat_at FROM jobs WHERE id = ?",
                    (job_id,),
                ).fetchone()
                claimable = r is not None and (
                    r["state"] == "pending"
                    or (r["state"] == "rendering" and self._claim_is_dead(r, now))
                )
                if claimable:
                    conn.execute(
                        "UPDATE jobs SET state = 'rendering', claimed_at = ?, heartbeat_at = ?,"
                        " claimed_by = ?, claimed_pid = ?, claimed_host = ? WHERE id = ?",
                        (now, now, self.owner, self.pid, self.host, job_id),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        if claimable:
            self._hold(job_id)
        return claimable

    def _claim_is_dead(self, r: sqlite3.Row, now: float) -> bool:
        claimed_at = r["claimed_at"] if r["claimed_at"] is not None else 0.0
        # Rows claimed before heartbeats existed have only claimed_at.
        renewed = r["heartbeat_at"] if r["heartbeat_at"] is not None else claimed_at
        if renewed < now - LEASE_S or claimed_at < now - STALE_RENDER_S:
            return True
        pid = r["claimed_pid"]
        # Only a pid on this host can be probed; our own pid is alive by definition (the
        # claim then belongs to another queue object in this process: the lease decides).
        return (
            r["claimed_by"] != self.owner
            and r["claimed_host"] == self.host
            and pid is not None
            and pid != os.getpid()
            and not pid_alive(int(pid))
        )

    def beat(self) -> bool:
        """Renew every claim this queue holds; False (and the heartbeat stops) when none."""
        with self._lock:
            held = sorted(self._held)
            if not held:
                self._beater = None
                return False
        marks = ",".join("?" * len(held))
        with self._connect() as conn:
            conn.execute(
                f"UPDATE jobs SET heartbeat_at = ? WHERE id IN ({marks})"
                " AND state = 'rendering' AND claimed_by = ?",
                (self.clock(), *held, self.owner),
            )
        return True

    def _hold(self, job_id: str) -> None:
        with self._lock:
            self._held.add(job_id)
            if self._beater is not None or self._stop.is_set():
                return
            self._beater = threading.Thread(
                target=_heartbeat,
                args=(weakref.ref(self), self._stop),
                name="local-queue-heartbeat",
                daemon=True,
            )
            self._beater.start()

    def _let_go(self, job_id: str) -> None:
        with self._lock:
            self._held.discard(job_id)

    def close(self) -> None:
        """Stop renewing claims (shutdown); unfinished ones lapse after ``LEASE_S``."""
        self._stop.set()
        with self._lock:
            beater, self._beater = self._beater, None
        # Joined so that no renewal is still in flight once close() returns.
        if beater is not None and beater is not threading.current_thread():
            beater.join(timeout=5.0)

    def complete(self, job_id: str, images: list[dict[str, str]]) -> bool:
        """Store the outcome; False (nothing changed) when the job was already settled,
        e.g. cancelled while it rendered: a cancelled job never completes."""
        with self._connect() as conn:
            changed = conn.execute(
                "UPDATE jobs SET state = 'completed', result_json = ?, error = NULL"
                " WHERE id = ? AND state IN ('pending', 'rendering')",
                (json.dumps(images), job_id),
            ).rowcount
        self._let_go(job_id)
        return changed > 0

    def fail(self, job_id: str, error: str) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE jobs SET state = 'failed', error = ?"
                " WHERE id = ? AND state IN ('pending', 'rendering')",
                (error, job_id),
            )
        self._let_go(job_id)

    def cancel(self, job_id: str) -> bool:
        """Settle an unfinished job as failed with ``CANCELLED``; False if it had finished
        (or does not exist). A render still running for it can no longer complete it."""
        with self._connect() as conn:
            changed = conn.execute(
                "UPDATE jobs SET state = 'failed', error = ?"
                " WHERE id = ? AND state IN ('pending', 'rendering')",
                (CANCELLED, job_id),
            ).rowcount
        return changed > 0

    def release(self, job_id: str) -> None:
        """Give a claim back (rendering was interrupted) so the next status call retries."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE jobs SET state = 'pending', claimed_at = NULL, heartbeat_at = NULL,"
                " claimed_by = NULL, claimed_pid = NULL, claimed_host = NULL"
                " WHERE id = ? AND state = 'rendering' AND claimed_by = ?",
                (job_id, self.owner),
            )
        self._let_go(job_id)
