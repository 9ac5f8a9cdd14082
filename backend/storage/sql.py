"""Small helpers over Core so the functions read like the SQL they replace.

Every helper takes the open :class:`sqlalchemy.Connection` of a transaction and a Core
statement; rows come back as plain dicts keyed by column name.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, ClassVar

from sqlalchemy import (
    Column,
    Connection,
    Executable,
    Insert,
    Select,
    Table,
    Update,
    bindparam,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import BigInteger

# The column that orders a table's rows by insertion (ties of a timestamp, cursors).
SEQ = "_seq"


def first(
    conn: Connection, stmt: Executable, params: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    row = conn.execute(stmt, params).mappings().first()
    return dict(row) if row is not None else None


# Building a statement and its cache key costs more than running it on SQLite (a generate
# call spent a third of its time there): the hot lookups by key use statements built once,
# whose values are bound at execution.
@functools.cache
def _select_where(table: Table, columns: tuple[str, ...], for_update: bool) -> Select[Any]:
    stmt = select(table).where(*(table.c[name] == bindparam(f"eq_{name}") for name in columns))
    return stmt.with_for_update() if for_update else stmt


def row_where(
    conn: Connection, table: Table, *, for_update: bool = False, **equal: Any
) -> dict[str, Any] | None:
    """The first row of ``table`` whose columns equal ``equal`` (locked for update on
    PostgreSQL when asked)."""
    stmt = _select_where(table, tuple(equal), for_update)
    return first(conn, stmt, {f"eq_{name}": value for name, value in equal.items()})


@functools.cache
def _update_by(table: Table, column: str) -> Update:
    return table.update().where(table.c[column] == bindparam(f"eq_{column}"))


def update_where(
    conn: Connection, table: Table, column: str, key: Any, fields: Mapping[str, Any]
) -> int:
    """UPDATE ``table`` SET ``fields`` WHERE ``column`` = ``key``; the rows changed."""
    if not fields:
        return 0
    result = conn.execute(_update_by(table, column), {**fields, f"eq_{column}": key})
    return int(result.rowcount or 0)


@functools.cache
def _update_by_returning(table: Table, column: str) -> Update:
    return _update_by(table, column).returning(*table.c)


def update_returning(
    conn: Connection, table: Table, column: str, key: Any, fields: Mapping[str, Any]
) -> dict[str, Any] | None:
    """``update_where`` that also answers the row as it now is (UPDATE ... RETURNING: one
    statement where a write and a read back were two)."""
    stmt = _update_by_returning(table, column)
    return first(conn, stmt, {**fields, f"eq_{column}": key})


@functools.cache
def _insert_returning(table: Table) -> Insert:
    return table.insert().returning(*table.c)


def insert_returning(conn: Connection, table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """INSERT ``values`` and answer the row as stored, its defaults included (RETURNING)."""
    row = first(conn, _insert_returning(table), dict(values))
    assert row is not None
    return row


@functools.cache
def _insert(table: Table) -> Insert:
    return table.insert()


def insert_row(conn: Connection, table: Table, values: Mapping[str, Any]) -> None:
    """INSERT ``values`` (bound at execution into a statement built once per table)."""
    conn.execute(_insert(table), dict(values))


def rows(
    conn: Connection, stmt: Executable, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(stmt, params).mappings()]


def scalar(conn: Connection, stmt: Executable, params: Mapping[str, Any] | None = None) -> Any:
    return conn.execute(stmt, params).scalar()


@functools.cache
def _insert_ignore(dialect_name: str, table: Table) -> Insert:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def insert_ignore(conn: Connection, table: Table, values: Mapping[str, Any]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING on either dialect; the number of rows added."""
    stmt = _insert_ignore(conn.dialect.name, table)
    return int(conn.execute(stmt, dict(values)).rowcount or 0)


def upsert(
    conn: Connection, table: Table, values: Mapping[str, Any], key: str, update: list[str]
) -> None:
    """INSERT, or on a clash of ``key`` update the columns ``update`` from the new row."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(dict(values))
    stmt = stmt.on_conflict_do_update(
        index_elements=[key], set_={name: stmt.excluded[name] for name in update}
    )
    conn.execute(stmt)


def seq_column() -> Column[int]:
    """The insertion-order column of a table: PostgreSQL fills it from an identity; on
    SQLite it stays empty and :func:`seq_of` reads the table's own ``rowid``."""
    return Column(SEQ, BigInteger, nullable=True, info={"insertion_order": True})


@compiles(CreateColumn, "postgresql")
def _create_seq_column(element: CreateColumn[Any], compiler: Any, **kw: Any) -> str:
    column = element.element
    if column.info.get("insertion_order"):
        name = compiler.preparer.format_column(column)
        return f"{name} BIGINT GENERATED BY DEFAULT AS IDENTITY"
    return str(compiler.visit_create_column(element, **kw))


class _Seq(ColumnElement[int]):
    inherit_cache = True
    # Part of the statement cache key: the rowid of one table is not another's.
    _traverse_internals: ClassVar[list[tuple[str, InternalTraversal]]] = [
        ("table", InternalTraversal.dp_clauseelement)
    ]
    type = BigInteger()

    def __init__(self, table: Table) -> None:
        self.table = table


@compiles(_Seq)
def _seq_default(element: _Seq, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.table.c[SEQ], **kw)


@compiles(_Seq, "sqlite")
def _seq_sqlite(element: _Seq, compiler: Any, **kw: Any) -> str:
    name = compiler.preparer.format_table(element.table)
    return f"{name}.rowid"


def seq_of(table: Table) -> ColumnElement[int]:
    """Insertion order of ``table``'s rows (``rowid`` on SQLite, ``_seq`` on PostgreSQL)."""
    return _Seq(table)


@functools.cache
def _lock_row(table: Table) -> Select[Any]:
    return select(table.c["_id"]).where(table.c["_id"] == bindparam("eq__id")).with_for_update()


def lock_user(conn: Connection, users: Table, user_id: str) -> None:
    """Take the user's row lock for the rest of the transaction (PostgreSQL); on SQLite
    the transaction already holds the database's only write lock (BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_lock_row(users), {"eq__id": user_id})


__all__ = [
    "SEQ",
    "first",
    "insert_ignore",
    "insert_row",
    "lock_user",
    "row_where",
    "rows",
    "scalar",
    "seq_column",
    "seq_of",
    "update_where",
    "upsert",
]
