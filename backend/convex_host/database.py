"""The Convex host's storage: a SQLite file (the default) or a PostgreSQL database.

Every mutation runs inside one write transaction (:meth:`ConvexDatabase.write`). On
SQLite that is ``BEGIN IMMEDIATE``: SQLite admits a single writer at a time, so a
check-then-insert such as "count active slots, then add one" cannot interleave with
another writer, in this process or another. On PostgreSQL (READ COMMITTED) every
mutation and billing transaction first locks the row of the user it acts for
(``SELECT ... FOR UPDATE``, :meth:`Ctx.user` and :func:`backend.storage.sql.lock_user`):
all decisions about one user's credits and slots are then taken one at a time, by
however many server processes, while different users never wait for each other.
Queries run in a read transaction (:meth:`ConvexDatabase.read`) and see one consistent
snapshot without blocking writers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection

from backend.convex_host.tables import SCHEMA
from backend.storage.engine import database_url, make_engine, read_transaction, sqlite_path
from backend.storage.engine import write_transaction as _write
from backend.storage.migrate import migrate


class ConvexDatabase:
    """Storage shared by the host's worker threads (a pool of connections).

    ``target`` is a file path (SQLite) or a URL: ``sqlite:///...`` or
    ``postgresql+psycopg://user@host/db``. Several processes may open the same database.
    """

    def __init__(
        self, target: str | Path, *, starting_credits: float = 200, slot_limit: int = 4
    ) -> None:
        self.url = database_url(target)
        self.path: Path | None = sqlite_path(self.url)
        self.starting_credits = float(starting_credits)
        self.slot_limit = int(slot_limit)
        self.engine = make_engine(self.url)
        self.dialect = self.engine.dialect.name
        self._closed = False
        # One transaction, so processes opening a fresh database at once do not interleave.
        migrate(self.engine, SCHEMA)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the Convex database is closed")

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One serialized read-write transaction; rolled back if the body raises."""
        self._check_open()
        with _write(self.engine) as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot."""
        self._check_open()
        with read_transaction(self.engine) as conn:
            yield conn

    def close(self) -> None:
        self._closed = True
        self.engine.dispose()

    def __enter__(self) -> ConvexDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
