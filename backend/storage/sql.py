"""Small helpers over Core so the functions read like the SQL they replace.

Every helper takes the open :class:`sqlalchemy.Connection` of a transaction and a Core
statement; rows come back as plain dicts keyed by column name.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NamedTuple

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

from backend.storage.engine import run_on_driver

# The column that orders a table's rows by insertion (ties of a timestamp, cursors).
SEQ = "_seq"


def first(
    conn: Connection, stmt: Executable, params: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    form = _direct_form(conn, stmt, params)
    if form is not None:
        found = _run_direct(conn, form, params, only_first=True)
        return found[0] if found else None
    row = conn.execute(stmt, params).mappings().first()
    return dict(row) if row is not None else None


# -- statements run on SQLite's driver directly ---------------------------------------------
# SQLAlchemy's execution (an execution context, the pool's bookkeeping, a result object and
# its metadata) cost ~40 % of a generate call's CPU in the load run's burst, three times
# what SQLite itself took (docs/benchmarks.md, "Seventh pass"). A statement run a second
# time (one built once: the hot paths' are, tests/integration/test_server_hot_paths.py)
# is compiled by SQLAlchemy once per set of parameter names, and from then on runs on the
# driver's connection inside the same transaction. Only where SQLAlchemy would do nothing
# to the values: no type that converts them, no default computed in Python, no parameter
# expanded at execution. Everything else, PostgreSQL, and any statement while a listener
# observes execution (a test counting statements, tracing) runs through SQLAlchemy.
class _Direct(NamedTuple):
    sql: str
    names: tuple[str, ...]  # the parameters in the statement's order
    fixed: dict[str, Any]  # values bound in the statement itself
    rows: bool  # whether it answers rows (a SELECT, or RETURNING)
    # The parameters' types' own conversions, as SQLAlchemy applies them (None: none).
    bind_processors: tuple[Callable[[Any], Any] | None, ...] | None


_runs_direct = 0


def runs_direct() -> int:
    """How many statements this process has run on SQLite's driver directly."""
    return _runs_direct


_SEEN: weakref.WeakKeyDictionary[Executable, dict[tuple[str, ...], _Direct | None]] = (
    weakref.WeakKeyDictionary()
)


def _direct_form(
    conn: Connection, stmt: Executable, params: Mapping[str, Any] | None
) -> _Direct | None:
    if conn.dialect.name != "sqlite":
        return None
    dispatch = conn.dispatch
    if dispatch.before_execute or dispatch.before_cursor_execute:
        return None  # someone observes the statements (a test, tracing): let them see all
    names = tuple(params) if params else ()
    forms = _SEEN.get(stmt)
    if forms is None:
        _SEEN[stmt] = {}  # a first run: through SQLAlchemy (a statement built per call is
        return None  # never compiled twice)
    try:
        return forms[names]
    except KeyError:
        form = forms[names] = _compile_direct(conn, stmt, names)
        return form


def _compile_direct(conn: Connection, stmt: Executable, names: tuple[str, ...]) -> _Direct | None:
    dialect = conn.dialect
    compiled: Any = stmt.compile(dialect=dialect, column_keys=list(names))
    if (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.escaped_bind_names
        or not compiled.positional
    ):
        return None
    answers: Any = getattr(stmt, "exported_columns", ())
    for column in answers:  # a column whose values SQLAlchemy converts: not here
        if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
            return None
    binds = compiled.binds
    order = tuple(compiled.positiontup)
    fixed: dict[str, Any] = {}
    for name in order:
        bind = binds[name]
        if bind.expanding:
            return None
        if name not in names:
            if bind.required or bind.callable is not None:
                return None
            fixed[name] = bind.value
    processors = tuple(binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in order)
    return _Direct(
        compiled.string, order, fixed, len(answers) > 0, processors if any(processors) else None
    )


def _values(form: _Direct, params: Mapping[str, Any] | None) -> list[Any]:
    given = params or {}
    values = [given[n] if n in given else form.fixed[n] for n in form.names]
    if form.bind_processors is not None:
        for i, process in enumerate(form.bind_processors):
            if process is not None and values[i] is not None:
                values[i] = process(values[i])
    return values


def _execute_direct(conn: Connection, form: _Direct, params: Mapping[str, Any] | None) -> Any:
    """The driver's cursor, ``form`` run on it inside ``conn``'s transaction."""
    global _runs_direct
    _runs_direct += 1
    return run_on_driver(conn, form.sql, _values(form, params))


def _run_direct(
    conn: Connection, form: _Direct, params: Mapping[str, Any] | None, only_first: bool = False
) -> list[dict[str, Any]]:
    cursor = _execute_direct(conn, form, params)
    if not form.rows:
        return []
    # The labels SQLAlchemy compiled into the statement: its result's keys.
    keys = [column[0] for column in cursor.description]
    if only_first:
        row = cursor.fetchone()
        cursor.close()
        return [] if row is None else [dict(zip(keys, row, strict=True))]
    return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


def _rowcount_direct(conn: Connection, form: _Direct, params: Mapping[str, Any]) -> int:
    return int(_execute_direct(conn, form, params).rowcount)


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
    stmt, params = _update_by(table, column), {**fields, f"eq_{column}": key}
    form = _direct_form(conn, stmt, params)
    if form is not None:
        return _rowcount_direct(conn, form, params)
    return int(conn.execute(stmt, params).rowcount or 0)


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
    stmt, params = _insert(table), dict(values)
    form = _direct_form(conn, stmt, params)
    if form is not None:
        _rowcount_direct(conn, form, params)
    else:
        conn.execute(stmt, params)


def rows(
    conn: Connection, stmt: Executable, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    form = _direct_form(conn, stmt, params)
    if form is not None:
        return _run_direct(conn, form, params)
    return [dict(r) for r in conn.execute(stmt, params).mappings()]


def changed_rows(conn: Connection, stmt: Executable, params: Mapping[str, Any]) -> int:
    """Run a write (UPDATE, INSERT, DELETE without RETURNING); the number of rows it changed."""
    form = _direct_form(conn, stmt, params)
    if form is not None:
        return _rowcount_direct(conn, form, params)
    return int(conn.execute(stmt, params).rowcount or 0)


def scalar(conn: Connection, stmt: Executable, params: Mapping[str, Any] | None = None) -> Any:
    form = _direct_form(conn, stmt, params)
    if form is not None and form.rows:
        found = _run_direct(conn, form, params, only_first=True)
        return next(iter(found[0].values())) if found else None
    return conn.execute(stmt, params).scalar()


@functools.cache
def _insert_ignore(dialect_name: str, table: Table) -> Insert:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def insert_ignore(conn: Connection, table: Table, values: Mapping[str, Any]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING on either dialect; the number of rows added."""
    stmt, params = _insert_ignore(conn.dialect.name, table), dict(values)
    form = _direct_form(conn, stmt, params)
    if form is not None:
        return _rowcount_direct(conn, form, params)
    return int(conn.execute(stmt, params).rowcount or 0)


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
    "changed_rows",
    "first",
    "insert_ignore",
    "insert_row",
    "lock_user",
    "row_where",
    "rows",
    "runs_direct",
    "scalar",
    "seq_column",
    "seq_of",
    "update_where",
    "upsert",
]
