"""Statements run on SQLite's driver directly (backend/storage/sql.py; docs/benchmarks.md,
"Seventh pass"): they answer exactly what SQLAlchemy answers, and they do skip it.

A statement's first run goes through SQLAlchemy; from its second run (same statement
object, same parameter names) it runs on the driver's connection, with the types' own
conversions applied as SQLAlchemy applies them. On PostgreSQL everything runs through
SQLAlchemy, so the same assertions hold there too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    event,
    exc,
    func,
    select,
)

from backend.storage.engine import make_engine, read_transaction, write_transaction
from backend.storage.sql import (
    first,
    insert_ignore,
    insert_returning,
    insert_row,
    row_where,
    rows,
    runs_direct,
    scalar,
    update_returning,
    update_where,
)

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("_id", Text, primary_key=True),
    Column("amount", Float, nullable=False),
    Column("count", Integer, nullable=False, server_default="0"),
    Column("state", Text, nullable=False, server_default="new"),
)
# Columns whose values SQLAlchemy converts when read back (JSON text, SQLite's 0/1): a
# statement answering them is left to SQLAlchemy; its parameters' conversions are applied.
tagged = Table(
    "tagged",
    metadata,
    Column("_id", Text, primary_key=True),
    Column("flag", Boolean, nullable=True),
    Column("payload", JSON, nullable=True),
)
BY_STATE = select(things).where(things.c.state == bindparam("state")).order_by(things.c["_id"])
AMOUNTS = select(things.c.amount)
NOT_DONE = select(func.count()).select_from(things).where(things.c.state != "done")
BY_IDS = select(things.c["_id"]).where(things.c["_id"].in_(bindparam("ids", expanding=True)))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)  # a fresh database for each test
    metadata.create_all(eng)
    yield eng
    eng.dispose()


class Executions:
    """Statements run meanwhile: through SQLAlchemy (``count``; seen by its
    ``before_execute`` event only when ``observe``: a listener turns the direct path off)
    and directly on the driver (``direct``)."""

    def __init__(self, engine: Engine, observe: bool = False) -> None:
        self.count = 0
        self.direct = 0
        self.engine = engine
        self.observe = observe

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def __enter__(self) -> Executions:
        self._direct_before = runs_direct()
        if self.observe:
            event.listen(self.engine, "before_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        self.direct = runs_direct() - self._direct_before
        if self.observe:
            event.remove(self.engine, "before_execute", self._seen)


def _twice_with_the_same_answer(engine: Engine, run: Any) -> Any:
    """``run`` once through SQLAlchemy and once more; the same answer both times, and on
    SQLite the second run executes nothing through SQLAlchemy."""
    with read_transaction(engine) as conn:
        through_sqlalchemy = run(conn)
    with Executions(engine) as executed, read_transaction(engine) as conn:
        again = run(conn)
    assert again == through_sqlalchemy
    assert type(again) is type(through_sqlalchemy)
    assert executed.direct == (1 if engine.dialect.name == "sqlite" else 0)
    return again


def test_writes_and_reads_answer_as_through_sqlalchemy(engine: Engine) -> None:
    stored = []
    for i in range(3):  # the first through SQLAlchemy, the others directly on SQLite
        with Executions(engine) as executed, write_transaction(engine) as conn:
            stored.append(insert_returning(conn, things, {"_id": f"t{i}", "amount": 2}))
        if engine.dialect.name == "sqlite":
            assert executed.direct == (0 if i == 0 else 1)
    assert [r["_id"] for r in stored] == ["t0", "t1", "t2"]
    for row in stored:  # defaults filled in by the database; Float's own conversion
        assert row == {**stored[0], "_id": row["_id"]}
        assert row["count"] == 0 and row["state"] == "new" and row["amount"] == 2.0
        assert type(row["amount"]) is type(stored[0]["amount"])

    for i in range(3):
        with write_transaction(engine) as conn:
            changed = update_returning(conn, things, "_id", f"t{i}", {"state": "done", "count": i})
        assert changed is not None and (changed["state"], changed["count"]) == ("done", i)
    with write_transaction(engine) as conn:
        assert update_where(conn, things, "_id", "t0", {"amount": 1.5}) == 1
        assert update_where(conn, things, "_id", "t1", {"amount": 1.5}) == 1
        assert update_where(conn, things, "_id", "missing", {"amount": 1.5}) == 0
        insert_row(conn, things, {"_id": "t3", "amount": 1})
        insert_row(conn, things, {"_id": "t4", "amount": 1})
        insert_ignore(conn, things, {"_id": "t4", "amount": 9})  # there: left alone
        insert_ignore(conn, things, {"_id": "t5", "amount": 9})
        insert_ignore(conn, things, {"_id": "t5", "amount": 7})

    t0 = _twice_with_the_same_answer(engine, lambda c: row_where(c, things, _id="t0"))
    assert t0 is not None and t0["amount"] == 1.5
    amounts = _twice_with_the_same_answer(engine, lambda c: rows(c, AMOUNTS))
    assert sorted(r["amount"] for r in amounts) == [1.0, 1.0, 1.5, 1.5, 2.0, 9.0]
    assert _twice_with_the_same_answer(engine, lambda c: row_where(c, things, _id="none")) is None
    news = _twice_with_the_same_answer(engine, lambda c: rows(c, BY_STATE, {"state": "new"}))
    assert [r["_id"] for r in news] == ["t3", "t4", "t5"]
    # A value bound in the statement itself ("done"), and a label (count(*)).
    assert _twice_with_the_same_answer(engine, lambda c: scalar(c, NOT_DONE)) == 3
    first_new = _twice_with_the_same_answer(engine, lambda c: first(c, BY_STATE, {"state": "new"}))
    assert first_new is not None and first_new["_id"] == "t3"


def test_an_expanding_parameter_still_runs_through_sqlalchemy(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        for i in range(3):
            insert_row(conn, things, {"_id": f"x{i}", "amount": i})
    for _ in range(2):
        with Executions(engine) as executed, read_transaction(engine) as conn:
            found = rows(conn, BY_IDS, {"ids": ["x0", "x2", "nope"]})
        assert sorted(r["_id"] for r in found) == ["x0", "x2"]
        assert executed.direct == 0


def test_a_statement_built_per_call_is_never_compiled_again(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        insert_row(conn, things, {"_id": "p0", "amount": 1})
    for _ in range(3):
        stmt = select(things).where(things.c["_id"] == "p0")  # a new object every time
        with Executions(engine) as executed, read_transaction(engine) as conn:
            found = first(conn, stmt)
        assert found is not None and found["amount"] == 1.0
        assert executed.direct == 0  # SQLAlchemy's own cache serves it


def test_converted_columns_stay_with_sqlalchemy_and_parameters_are_converted(
    engine: Engine,
) -> None:
    payload = {"urls": ["a", "b"], "n": 2}
    for i in range(3):  # insert_row answers no columns: its runs after the first go direct
        with Executions(engine) as executed, write_transaction(engine) as conn:
            insert_row(conn, tagged, {"_id": f"g{i}", "flag": i == 1, "payload": payload})
        if engine.dialect.name == "sqlite":
            assert executed.direct == (0 if i == 0 else 1)
    for i in range(3):  # a read of converted columns: SQLAlchemy every time
        with Executions(engine) as executed, read_transaction(engine) as conn:
            found = row_where(conn, tagged, _id=f"g{i}")
        assert executed.direct == 0
        assert found == {"_id": f"g{i}", "flag": i == 1, "payload": payload}
    # Stored as SQLAlchemy stores them (JSON text; SQLite's 1 for True), whichever path.
    with read_transaction(engine) as conn:
        raw = conn.exec_driver_sql("SELECT flag, payload FROM tagged ORDER BY _id").all()
    for i, (flag, stored) in enumerate(raw):
        assert bool(flag) is (i == 1)
        assert (json.loads(stored) if isinstance(stored, str) else stored) == payload


def test_while_a_listener_observes_execution_every_statement_goes_through_sqlalchemy(
    engine: Engine,
) -> None:
    with write_transaction(engine) as conn:
        insert_row(conn, things, {"_id": "o0", "amount": 1})
    for _ in range(3):
        with Executions(engine, observe=True) as executed, read_transaction(engine) as conn:
            assert rows(conn, BY_STATE, {"state": "new"})[0]["_id"] == "o0"
        assert (executed.count, executed.direct) == (1, 0)  # seen, every time
    with Executions(engine) as executed, read_transaction(engine) as conn:
        assert rows(conn, BY_STATE, {"state": "new"})[0]["_id"] == "o0"
    assert executed.direct == (1 if engine.dialect.name == "sqlite" else 0)


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(engine: Engine) -> None:
    """The same ``except`` catches it on either path (the Convex host answers a busy
    database 503 by SQLAlchemy's ``OperationalError``)."""
    for i in range(3):  # the first through SQLAlchemy, the others directly on SQLite
        if i == 0:
            with write_transaction(engine) as conn:
                insert_row(conn, things, {"_id": "dup", "amount": 1})
        with Executions(engine) as executed, pytest.raises(exc.IntegrityError):
            with write_transaction(engine) as conn:
                insert_row(conn, things, {"_id": "dup", "amount": 2})
        if engine.dialect.name == "sqlite" and i > 0:
            assert executed.direct == 1
    with read_transaction(engine) as conn:
        assert rows(conn, AMOUNTS) == [{"amount": 1.0}]  # the failed writes rolled back


def test_a_busy_database_at_begin_is_sqlalchemys_operational_error(tmp_path: Path) -> None:
    """SQLite's BEGIN IMMEDIATE is issued on the driver by hand (storage/engine.py)."""
    path = tmp_path / "busy.sqlite3"
    eng = make_engine(path)
    metadata.create_all(eng)
    with eng.connect() as conn:  # back in the pool, it waits 50 ms for a lock, not 30 s
        conn.exec_driver_sql("PRAGMA busy_timeout = 50")
    blocker = sqlite3.connect(path)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(exc.OperationalError, match="locked"):
            with write_transaction(eng) as conn:
                insert_row(conn, things, {"_id": "late", "amount": 1})
    finally:
        blocker.rollback()
        blocker.close()
    with write_transaction(eng) as conn:  # free again: it goes through
        insert_row(conn, things, {"_id": "late", "amount": 1})
    eng.dispose()
