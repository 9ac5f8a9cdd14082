"""The Convex host's storage: one SQLite file (WAL), tables named as in the seed's schema.

Every mutation runs inside one ``BEGIN IMMEDIATE`` transaction (:meth:`ConvexDatabase.write`):
SQLite then admits a single writer at a time, so a check-then-insert such as "count active
slots, then add one" cannot interleave with another writer, in this process or another.
Queries run in a deferred read transaction (:meth:`ConvexDatabase.read`) and see one
consistent snapshot without blocking writers.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backend.private_files import private_sqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    _id TEXT PRIMARY KEY,
    _creationTime REAL NOT NULL,
    tokenIdentifier TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    credits REAL NOT NULL,
    additionalCredits REAL NOT NULL DEFAULT 0,
    reservedCredits REAL NOT NULL DEFAULT 0,
    slotLimit INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS users_by_subject ON users(subject);

CREATE TABLE IF NOT EXISTS generations (
    _id TEXT PRIMARY KEY,
    _creationTime REAL NOT NULL,
    userId TEXT NOT NULL REFERENCES users(_id),
    type TEXT NOT NULL,
    prompt TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'completed', 'failed')),
    imageUrl TEXT,
    createdAt REAL NOT NULL,
    completedAt REAL
);
CREATE INDEX IF NOT EXISTS generations_by_user_status ON generations(userId, status);

CREATE TABLE IF NOT EXISTS sessions (
    _id TEXT PRIMARY KEY,
    _creationTime REAL NOT NULL,
    userId TEXT NOT NULL REFERENCES users(_id),
    title TEXT NOT NULL,
    type TEXT NOT NULL,
    preview TEXT,
    createdAt REAL NOT NULL,
    updatedAt REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions(userId, updatedAt);

CREATE TABLE IF NOT EXISTS sessionGenerations (
    _id TEXT PRIMARY KEY,
    _creationTime REAL NOT NULL,
    sessionId TEXT NOT NULL REFERENCES sessions(_id) ON DELETE CASCADE,
    userId TEXT NOT NULL REFERENCES users(_id),
    prompt TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'image',
    model TEXT NOT NULL,
    modelLabel TEXT,
    aspectRatio TEXT,
    numImages REAL,
    images TEXT NOT NULL DEFAULT '[]',
    isLoading INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    createdAt REAL NOT NULL,
    completedAt REAL,
    externalRequestId TEXT,
    concurrencySlotId TEXT,
    quality TEXT
);
CREATE INDEX IF NOT EXISTS session_generations_by_session
    ON sessionGenerations(sessionId, createdAt);
CREATE INDEX IF NOT EXISTS session_generations_by_user ON sessionGenerations(userId, isLoading);

CREATE TABLE IF NOT EXISTS favorites (
    _id TEXT PRIMARY KEY,
    _creationTime REAL NOT NULL,
    userId TEXT NOT NULL REFERENCES users(_id),
    generationId TEXT NOT NULL REFERENCES sessionGenerations(_id) ON DELETE CASCADE,
    imageUrl TEXT NOT NULL DEFAULT '',
    createdAt REAL NOT NULL,
    UNIQUE (userId, generationId, imageUrl)
);

-- The server's own holds on a generation's cost (backend/billing, docs/billing.md).
CREATE TABLE IF NOT EXISTS holds (
    _id TEXT PRIMARY KEY,
    userId TEXT NOT NULL REFERENCES users(_id),
    key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('one-call', 'slot')),
    bodyHash TEXT NOT NULL,
    slotId TEXT NOT NULL,
    amount REAL NOT NULL,
    numImages INTEGER NOT NULL,
    model TEXT NOT NULL,
    sessionId TEXT,
    generationId TEXT,
    state TEXT NOT NULL CHECK (state IN ('holding', 'submitted', 'settled')),
    jobKey TEXT,
    requestId TEXT,
    responseStatus INTEGER,
    response TEXT,
    charged REAL,
    released REAL,
    outcome TEXT,
    clientAck INTEGER NOT NULL DEFAULT 0,
    cancelRequested INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    createdAt REAL NOT NULL,
    updatedAt REAL NOT NULL,
    checkedAt REAL,
    settledAt REAL,
    UNIQUE (userId, key)
);
CREATE INDEX IF NOT EXISTS holds_by_job ON holds(jobKey);
CREATE INDEX IF NOT EXISTS holds_by_state ON holds(state, updatedAt);
CREATE INDEX IF NOT EXISTS holds_by_ack ON holds(userId, clientAck, amount);
-- Each server process's heartbeat: a hold still "holding" whose owner stopped beating
-- belonged to a server that died mid-call.
CREATE TABLE IF NOT EXISTS billingOwners (
    id TEXT PRIMARY KEY,
    heartbeatAt REAL NOT NULL
);
"""


class ConvexDatabase:
    """SQLite storage shared by the host's worker threads (one connection per thread).

    Several processes may open the same file; SQLite's locking keeps them consistent.
    """

    def __init__(self, path: Path, *, starting_credits: float = 200, slot_limit: int = 4) -> None:
        self.path = Path(path)
        private_sqlite(self.path)  # 0600 in a 0700 folder, before SQLite creates it
        self.starting_credits = float(starting_credits)
        self.slot_limit = int(slot_limit)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        # One transaction, so processes opening a fresh file at once do not interleave.
        self._connection().executescript("BEGIN IMMEDIATE;" + SCHEMA + "COMMIT;")

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError("the Convex database is closed")
            # isolation_level=None: we issue BEGIN/COMMIT ourselves. The generous timeout is
            # SQLite's busy wait for the write lock: racers queue, they do not fail.
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One serialized read-write transaction; rolled back if the body raises."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read-only snapshot (deferred transaction)."""
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()

    def __enter__(self) -> ConvexDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
