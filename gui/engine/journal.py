"""The generation journal: one SQLite row per generation, every step recorded before and
after it runs, so a restarted client knows exactly what was done (see resume.py).

``begin(step)`` is written before a step's side effect and ``end(step, ...)`` after it,
together with what it produced (slot id, session id, request id, images). A step with a
begin and no end may or may not have happened; resume treats it accordingly.

Bounded on disk: a settled row (completed, failed, cancelled) is needed by neither resume
(it resumes active rows only) nor lost-answer resolution (its slot is terminal and its
Convex row no longer loading, so no resolver candidate can be its), so settled rows are
compacted when a row settles: only the newest ``keep_settled`` stay, so recent outcomes
can still be read and an empty session a recent failed run left is still known as ours
(were it forgotten, adopting it for a lost ``createSession`` answer would cost nothing).
Resolution asks ``knows(column, id)``, an indexed lookup.

Whoever builds the journal may pass an ``observer``: it hears every step right after it is
durably recorded. Crash tests and harnesses kill the process from there (their seam, not
the engine's); production passes none.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

State = Literal["active", "completed", "failed", "cancelled"]
# The ids resolution looks up (resolve.py, resume.py): each column has an index.
OwnedId = Literal["slot_id", "session_id", "generation_id"]
# Settled rows kept after compaction (see the module docstring).
KEEP_SETTLED = 50

# Step names, in flow order. Failure path: error_saved, released, slot_failed. The one-call
# path (server_flow.py; its body carries the idempotency key) journals only uploaded,
# generate, polled and, to undo, cancel: the server does the rest.
STEPS = (
    "uploaded",
    "slot",
    "credits",
    "session",
    "loading_row",
    "generate",
    "request_id_saved",
    "polled",
    "images_saved",
    "captured",
    "slot_completed",
    "error_saved",
    "released",
    "slot_failed",
    "cancel",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    local_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    request_json TEXT NOT NULL,
    body_json TEXT,
    amount INTEGER NOT NULL DEFAULT 0,
    slot_id TEXT,
    session_id TEXT,
    generation_id TEXT,
    request_id TEXT,
    images_json TEXT,
    error TEXT,
    state TEXT NOT NULL DEFAULT 'active',
    steps_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS generations_by_state ON generations (state, updated_at);
CREATE INDEX IF NOT EXISTS generations_by_slot ON generations (slot_id);
CREATE INDEX IF NOT EXISTS generations_by_session ON generations (session_id);
CREATE INDEX IF NOT EXISTS generations_by_generation ON generations (generation_id);
"""
_COLUMNS = (
    "body_json",
    "amount",
    "slot_id",
    "session_id",
    "generation_id",
    "request_id",
    "images_json",
    "error",
)


@dataclass
class JournalRow:
    local_id: str
    created_at: float
    request: dict[str, Any]
    body: dict[str, Any] | None = None
    amount: int = 0
    slot_id: str | None = None
    session_id: str | None = None
    generation_id: str | None = None
    request_id: str | None = None
    images: tuple[str, ...] = ()
    error: str | None = None
    state: State = "active"
    steps: dict[str, str] = field(default_factory=dict)  # step -> "begin" | "end"

    def began(self, step: str) -> bool:
        return step in self.steps

    def done(self, step: str) -> bool:
        return self.steps.get(step) == "end"

    def uncertain(self, step: str) -> bool:
        """Started but not recorded as finished: it may or may not have taken effect."""
        return self.steps.get(step) == "begin"


def _create_private(path: Path) -> None:
    """The journal 0600 in a 0700 folder, whatever the umask (prompts and ids are private);
    SQLite gives its -wal/-shm files the database's mode. Mirrors backend/private_files.py
    (the engine does not import the backend)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):  # a shared folder we do not own
        os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, 0o600)


class JournalObserver(Protocol):
    """Hears each step right after it is durably recorded (``finish`` as ``finish:end``)."""

    def recorded(self, local_id: str, step: str, phase: str) -> None: ...


class Journal:
    def __init__(
        self,
        path: Path,
        *,
        observer: JournalObserver | None = None,
        keep_settled: int = KEEP_SETTLED,
    ) -> None:
        self.path = Path(path)
        self.keep_settled = keep_settled
        self._observer = observer
        _create_private(self.path)
        # One connection used from the event loop thread only; writes are tiny.
        self._conn = sqlite3.connect(self.path, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._migrate()
        self.compact()

    def _migrate(self) -> None:
        """Journals of older versions had a ``steps`` table (every step, forever) that only
        tests read: drop it and give its pages back once."""
        legacy = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'steps'"
        ).fetchone()
        if legacy:
            self._conn.execute("DROP TABLE steps")
            self._conn.execute("VACUUM")

    def close(self) -> None:
        self._conn.close()

    def create(self, local_id: str, request: dict[str, Any]) -> None:
        now = time.time()
        self._conn.execute(
            "INSERT INTO generations (local_id, created_at, updated_at, request_json) "
            "VALUES (?, ?, ?, ?)",
            (local_id, now, now, json.dumps(request)),
        )

    def _write(self, local_id: str, step: str, phase: str, fields: dict[str, Any]) -> None:
        row = self._conn.execute(
            "SELECT steps_json FROM generations WHERE local_id = ?", (local_id,)
        ).fetchone()
        if row is None:
            raise KeyError(local_id)
        steps = json.loads(row["steps_json"])
        steps[step] = phase
        sets = {"steps_json": json.dumps(steps), "updated_at": time.time()}
        for key, value in fields.items():
            if key == "images":
                sets["images_json"] = json.dumps(list(value))
            elif key == "body":
                sets["body_json"] = json.dumps(value)
            elif key in _COLUMNS:
                sets[key] = value
            else:
                raise ValueError(f"unknown journal field {key}")
        assignments = ", ".join(f"{k} = ?" for k in sets)
        # One statement: the step and its results land together.
        self._conn.execute(
            f"UPDATE generations SET {assignments} WHERE local_id = ?",
            (*sets.values(), local_id),
        )
        if self._observer is not None:
            self._observer.recorded(local_id, step, phase)

    def begin(self, local_id: str, step: str, **fields: Any) -> None:
        self._write(local_id, step, "begin", fields)

    def end(self, local_id: str, step: str, **fields: Any) -> None:
        self._write(local_id, step, "end", fields)

    def refuse(self, local_id: str, step: str) -> None:
        """The step ran and was refused (no slot, not enough credits): nothing to undo."""
        self._write(local_id, step, "refused", {})

    def update(self, local_id: str, **fields: Any) -> None:
        """Record data without a step (e.g. the normalized body, the amount)."""
        self._write(local_id, "_data", "end", fields)

    def finish(self, local_id: str, state: State, error: str | None = None) -> None:
        self._conn.execute(
            "UPDATE generations SET state = ?, error = COALESCE(?, error), updated_at = ? "
            "WHERE local_id = ?",
            (state, error, time.time(), local_id),
        )
        if self._observer is not None:
            self._observer.recorded(local_id, "finish", "end")
        self.compact()

    def compact(self) -> int:
        """Delete settled rows beyond the newest ``keep_settled``; returns how many went."""
        cursor = self._conn.execute(
            "DELETE FROM generations WHERE state != 'active' AND local_id NOT IN ("
            " SELECT local_id FROM generations WHERE state != 'active'"
            " ORDER BY updated_at DESC LIMIT ?)",
            (max(0, self.keep_settled),),
        )
        return cursor.rowcount

    def knows(self, column: OwnedId, value: str) -> bool:
        """Whether a journal row holds this slot, session or Convex row id (an index lookup:
        resolution asks this for each candidate instead of reading the whole journal)."""
        if column not in ("slot_id", "session_id", "generation_id"):
            raise ValueError(f"not an id column: {column}")
        found = self._conn.execute(
            f"SELECT 1 FROM generations WHERE {column} = ? LIMIT 1", (value,)
        ).fetchone()
        return found is not None

    def get(self, local_id: str) -> JournalRow | None:
        row = self._conn.execute(
            "SELECT * FROM generations WHERE local_id = ?", (local_id,)
        ).fetchone()
        return _to_row(row) if row else None

    def unfinished(self) -> list[JournalRow]:
        rows = self._conn.execute(
            "SELECT * FROM generations WHERE state = 'active' ORDER BY created_at"
        ).fetchall()
        return [_to_row(r) for r in rows]

    def all(self) -> list[JournalRow]:
        """Every row kept: the active ones and the newest settled (at most ``keep_settled``).
        The engine itself reads only active rows; harnesses audit a run with this."""
        rows = self._conn.execute("SELECT * FROM generations ORDER BY created_at").fetchall()
        return [_to_row(r) for r in rows]


def _to_row(row: sqlite3.Row) -> JournalRow:
    steps = json.loads(row["steps_json"])
    steps.pop("_data", None)
    return JournalRow(
        local_id=row["local_id"],
        created_at=row["created_at"],
        request=json.loads(row["request_json"]),
        body=json.loads(row["body_json"]) if row["body_json"] else None,
        amount=int(row["amount"] or 0),
        slot_id=row["slot_id"],
        session_id=row["session_id"],
        generation_id=row["generation_id"],
        request_id=row["request_id"],
        images=tuple(json.loads(row["images_json"])) if row["images_json"] else (),
        error=row["error"],
        state=row["state"],
        steps=steps,
    )
