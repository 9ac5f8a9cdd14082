"""The local provider's job table in the database (a SQLite file by default, or the
server's PostgreSQL), so a queued job survives a backend restart and any server process
can answer for it.

A job's whole future is decided when it is submitted: how long it waits in the queue, how
long it "runs", and whether it fails. Its state is then derived from the clock, so nothing
has to tick in the background and a restarted backend picks up exactly where it was.

Only the rendering of a due job writes again: ``claim_render`` moves it from ``pending``
to ``rendering`` inside one write transaction (SQLite's ``BEGIN IMMEDIATE``; the job's
row lock on PostgreSQL: one renderer wins, even across processes), and
``complete``/``fail`` store the outcome.

A claim names its owner (one id per queue object, plus the process id and host) and is a
short lease: a heartbeat thread renews every claim the owner still holds each
``HEARTBEAT_S``. Another owner may take a claim over as soon as its process is known to be
gone (same host, pid not alive: a killed backend's restart re-renders at once), once its
lease has not been renewed for ``LEASE_S`` (a frozen or vanished process elsewhere), or
after ``STALE_RENDER_S`` whatever the heartbeat says (a render wedged forever).

Every method is blocking and takes a pooled connection for one transaction (thread-safe);
the provider runs them through ``storage.offload`` (inline on SQLite, a worker thread on
PostgreSQL). After each committed change of a job
(claimed, released, completed, failed, cancelled) the queue calls ``on_change(job_id)``,
which the provider turns into a wake-up for the job's long polls.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select

from backend.providers.local_queue_tables import SCHEMA, jobs
from backend.storage.engine import make_engine, read_transaction, write_transaction
from backend.storage.migrate import migrate
from backend.storage.sql import changed_rows, first, insert_returning, row_where, scalar

log = logging.getLogger(__name__)
# The error of a job cancelled before it finished (the status route shows it as FAILED).
CANCELLED = "Cancelled."
# A claim not renewed for this long belongs to a process that stopped; it may be taken.
LEASE_S = 5.0
# How often the owner renews its claims: several beats fit in one lease.
HEARTBEAT_S = 1.0
# Backstop for a render that hangs in a live process: taken over even while renewed.
STALE_RENDER_S = 120.0


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


def _row(r: Mapping[str, Any]) -> JobRow:
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


# Asked by every status poll of a queued job: built once (see storage.sql).
_AHEAD = (
    select(func.count())
    .select_from(jobs)
    .where(jobs.c.seq < bindparam("seq"), jobs.c.created_at + jobs.c.queue_s > bindparam("now"))
)

# A render's claim and a job's outcome: once per job each (built once, as above).
_CLAIM_STATE = (
    select(
        jobs.c.state,
        jobs.c.claimed_at,
        jobs.c.claimed_by,
        jobs.c.claimed_pid,
        jobs.c.claimed_host,
        jobs.c.heartbeat_at,
    )
    .where(jobs.c.id == bindparam("job_id"))
    .with_for_update()
)
_BY_ID = jobs.update().where(jobs.c.id == bindparam("job_id"))
_UNSETTLED_BY_ID = _BY_ID.where(jobs.c.state.in_(("pending", "rendering")))
# A claim renewed (every HEARTBEAT_S while one is held) or given back (built once too).
_OWN_RENDERING = (jobs.c.state == "rendering", jobs.c.claimed_by == bindparam("owner"))
_RENEW = jobs.update().where(jobs.c.id.in_(bindparam("held", expanding=True)), *_OWN_RENDERING)
_RELEASE = jobs.update().where(jobs.c.id == bindparam("job_id"), *_OWN_RENDERING)
_CLAIM_COLUMNS = ("claimed_at", "heartbeat_at", "claimed_by", "claimed_pid", "claimed_host")


class JobQueue:
    """Blocking access to the jobs table at ``db`` (a SQLite path or a database URL;
    created on first use).

    ``pid`` and ``host`` default to this process's; tests pass another pid to stand for
    a process that was killed.
    """

    def __init__(
        self,
        db: Path | str,
        clock: Callable[[], float] = time.time,
        *,
        pid: int | None = None,
        host: str | None = None,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        # Wall-clock time (not monotonic): due times must mean the same after a restart.
        self.clock = clock
        self._on_change = on_change
        # A new id per queue object: a restarted backend never mistakes an old claim for
        # its own, even when the OS hands it the dead process's pid.
        self.owner = uuid.uuid4().hex
        self.pid = os.getpid() if pid is None else pid
        self.host = socket.gethostname() if host is None else host
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None
        self.engine = make_engine(db)
        migrate(self.engine, SCHEMA)

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
        reference = request.get("reference")
        with write_transaction(self.engine) as conn:
            # The row as stored (its ``seq`` is the database's).
            r = insert_returning(
                conn,
                jobs,
                {
                    "id": job_id,
                    "model_id": model_id,
                    "request_json": json.dumps(request),
                    "created_at": self.clock(),
                    "queue_s": max(0.0, queue_s),
                    "run_s": max(0.0, run_s),
                    "fail": int(fail_reason is not None),
                    "fail_reason": fail_reason,
                    "reference": reference if isinstance(reference, str) else None,
                },
            )
        return _row(r)

    def find_by_reference(self, reference: str) -> str | None:
        """The job a request named ``reference`` (a billing hold id) created, if any."""
        with read_transaction(self.engine) as conn:
            found = conn.execute(
                select(jobs.c.id).where(jobs.c.reference == reference).order_by(jobs.c.seq).limit(1)
            ).scalar()
        return str(found) if found is not None else None

    def get(self, job_id: str) -> JobRow | None:
        with read_transaction(self.engine) as conn:
            r = row_where(conn, jobs, id=job_id)
        return _row(r) if r is not None else None

    def get_with_position(self, job_id: str, now: float) -> tuple[JobRow | None, int | None]:
        """The job and, while it is still in the queue at ``now``, its position (1 + the
        jobs submitted before it that are still in the queue): one snapshot, one read."""
        with read_transaction(self.engine) as conn:
            r = row_where(conn, jobs, id=job_id)
            if r is None:
                return None, None
            job = _row(r)
            if job.state in ("completed", "failed") or now >= job.starts_at:
                return job, None
            ahead = scalar(conn, _AHEAD, {"seq": job.seq, "now": now})
        return job, int(ahead) + 1

    def claim_render(self, job_id: str) -> bool:
        """True if this caller now owns rendering the job (pending, or its claim is dead)."""
        now = self.clock()
        with write_transaction(self.engine) as conn:
            r = first(conn, _CLAIM_STATE, {"job_id": job_id})
            claimable = r is not None and (
                r["state"] == "pending"
                or (r["state"] == "rendering" and self._claim_is_dead(r, now))
            )
            if claimable:
                changed_rows(
                    conn,
                    _BY_ID,
                    {
                        "job_id": job_id,
                        "state": "rendering",
                        "claimed_at": now,
                        "heartbeat_at": now,
                        "claimed_by": self.owner,
                        "claimed_pid": self.pid,
                        "claimed_host": self.host,
                    },
                )
        if claimable:
            self._hold(job_id)
            self._changed(job_id)
        return claimable

    def _claim_is_dead(self, r: Mapping[str, Any], now: float) -> bool:
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
        with write_transaction(self.engine) as conn:
            conn.execute(_RENEW, {"held": held, "owner": self.owner, "heartbeat_at": self.clock()})
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
        self.engine.dispose()  # pooled connections go; a later call would open new ones

    def complete(self, job_id: str, images: list[dict[str, str]]) -> bool:
        """Store the outcome; False (nothing changed) when the job was already settled,
        e.g. cancelled while it rendered: a cancelled job never completes."""
        changed = self._settle(
            job_id, state="completed", result_json=json.dumps(images), error=None
        )
        self._let_go(job_id)
        return changed > 0

    def fail(self, job_id: str, error: str) -> None:
        self._settle(job_id, state="failed", error=error)
        self._let_go(job_id)

    def cancel(self, job_id: str) -> bool:
        """Settle an unfinished job as failed with ``CANCELLED``; False if it had finished
        (or does not exist). A render still running for it can no longer complete it."""
        return self._settle(job_id, state="failed", error=CANCELLED) > 0

    def _settle(self, job_id: str, **values: Any) -> int:
        """Store an outcome unless one is stored already; the number of rows changed."""
        with write_transaction(self.engine) as conn:
            changed = changed_rows(conn, _UNSETTLED_BY_ID, {"job_id": job_id, **values})
        if changed:  # committed: now its waiters may look
            self._changed(job_id)
        return changed

    def _changed(self, job_id: str) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(job_id)
        except Exception:  # a wake-up lost is a recheck later, never a failed write
            log.exception("announcing a change of job %s failed", job_id)

    def release(self, job_id: str) -> None:
        """Give a claim back (rendering was interrupted) so the next status call retries."""
        released = dict.fromkeys(_CLAIM_COLUMNS, None)
        with write_transaction(self.engine) as conn:
            changed_rows(
                conn,
                _RELEASE,
                {"job_id": job_id, "owner": self.owner, "state": "pending", **released},
            )
        self._let_go(job_id)
        self._changed(job_id)
