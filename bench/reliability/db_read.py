"""Looks into a backend's databases from outside the server (audits, tests), on SQLite or
PostgreSQL through the storage layer's tables, never through our HTTP code.

A backend keeps each store in ``data_dir/<store>.sqlite3`` unless it was given a database
URL, in which case every store shares that database (``BackendConfig.database``).
Reads run in one read-only snapshot and never migrate or create anything: a store whose
SQLite file or table does not exist yet reads as empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Executable, inspect

from backend.storage.engine import (
    database_url,
    make_engine,
    read_transaction,
    sqlite_path,
    write_transaction,
)
from backend.storage.sql import rows


def store_target(data_dir: Path, sqlite_name: str, url: str | None = None) -> str | Path:
    """Where a backend started on ``data_dir`` (and ``url``, if any) keeps that store."""
    return url or Path(data_dir) / sqlite_name


@contextmanager
def _engine(target: str | Path) -> Iterator[Engine | None]:
    path = sqlite_path(database_url(target))
    if path is not None and not path.exists():
        yield None  # a store the backend never opened: nothing to read (and none made)
        return
    engine = make_engine(target)
    try:
        yield engine
    finally:
        engine.dispose()


def has_table(conn: Connection, name: str) -> bool:
    return bool(inspect(conn).has_table(name))


def read_rows(target: str | Path, stmt: Executable, *, table: str) -> list[dict[str, Any]]:
    """The rows of ``stmt`` (reading ``table``) as dicts; none if the table is not there."""
    with _engine(target) as engine:
        if engine is None:
            return []
        with read_transaction(engine) as conn:
            if not has_table(conn, table):
                return []
            return rows(conn, stmt)


@contextmanager
def writing(target: str | Path) -> Iterator[Connection]:
    """One write transaction on the store, for tests that stage a state the server would
    only reach by dying at the right moment (a hold left by a stopped process)."""
    engine = make_engine(target)
    try:
        with write_transaction(engine) as conn:
            yield conn
    finally:
        engine.dispose()
