"""Engines for a database named by a path (SQLite) or a URL (SQLite or PostgreSQL).

SQLite keeps the behaviour the embedded backend always had: WAL, ``synchronous=NORMAL``,
foreign keys on, a 30 s busy wait, and every write transaction opened with
``BEGIN IMMEDIATE`` so that SQLite admits one writer at a time (in this process or
another). PostgreSQL runs at READ COMMITTED; writers serialise on row locks instead
(:func:`backend.storage.sql.lock_user`), and read-only transactions take one snapshot
(REPEATABLE READ).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from backend.private_files import private_sqlite

SQLITE_BUSY_TIMEOUT_S = 30.0
# How many connections one store keeps per process (worker threads share them).
POOL_SIZE = 8
POOL_OVERFLOW = 32


def database_url(target: str | Path) -> str:
    """``target`` as a SQLAlchemy URL: a plain path becomes ``sqlite:///<absolute path>``."""
    text = str(target)
    if "://" in text:
        url = make_url(text)
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                f"unsupported database {url.get_backend_name()!r}: use a SQLite file or "
                "postgresql+psycopg://user@host/db"
            )
        if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def make_engine(target: str | Path) -> Engine:
    """An engine for ``target`` (a path or a URL); a SQLite file is made private first."""
    url = database_url(target)
    path = sqlite_path(url)
    if path is None and not is_postgres(url):
        raise ValueError("an in-memory SQLite database cannot be shared; give a file")
    if path is not None:
        private_sqlite(path)  # 0600 in a 0700 folder, before SQLite creates it
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            pool_timeout=60,
        )
        _sqlite_events(engine)
        return engine
    return create_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=60,
        pool_pre_ping=True,
    )


def _set_wal(cursor: Any) -> None:
    """WAL mode, waiting for other processes: switching a fresh file to WAL takes an
    exclusive lock, and SQLite answers "database is locked" at once (its busy wait does
    not cover it) when processes open one new database together."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (_begin_sqlite): pysqlite's own implicit transactions
        # would start them late and deferred.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        _set_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _begin_sqlite(conn: Connection, statement: str) -> None:
    """Open SQLite's transaction on the driver's connection, by hand.

    Not SQLAlchemy's "begin" event: one engine-level connection event makes SQLAlchemy
    dispatch its execution events around every statement, which with the BEGIN's own
    trip through the execution machinery was ~40 % of a one-row read's CPU
    (docs/benchmarks.md, "Sixth pass")."""
    run_on_driver(conn, statement, ())


def run_on_driver(conn: Connection, statement: str, params: Any) -> Any:
    """``statement`` run on ``conn``'s driver connection, in its transaction; the cursor.

    A driver error is raised as SQLAlchemy raises it (its ``OperationalError``,
    ``IntegrityError``, ...), so what runs here fails as what runs through SQLAlchemy
    does: one ``except`` serves both (the Convex host answers a busy database 503)."""
    try:
        return conn.connection.driver_connection.execute(statement, params)  # type: ignore[union-attr]
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            statement, params, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
        ) from exc


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One read-write transaction, committed when the body returns, else rolled back.

    SQLite: ``BEGIN IMMEDIATE`` (one writer at a time). PostgreSQL: READ COMMITTED, the
    body locks the rows it decides on (``SELECT ... FOR UPDATE``)."""
    with engine.connect() as conn:
        with conn.begin():
            if engine.dialect.name == "sqlite":
                _begin_sqlite(conn, "BEGIN IMMEDIATE")
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only snapshot; never commits anything."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        trans = conn.begin()
        try:
            if engine.dialect.name == "sqlite":
                _begin_sqlite(conn, "BEGIN")
            yield conn
        finally:
            trans.rollback()
