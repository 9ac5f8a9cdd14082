"""Schema versions: a fresh database gets today's tables, an older one is brought up to
date by ordered steps, each run once.

Why not Alembic: the embedded default migrates itself on every start, with no command to
run and no migration scripts to ship or find on disk; several server processes may start
at once on one database; and the ladder is short (a few added columns). A version table
plus ordered Python steps, run in one locked transaction, does exactly that with nothing
more installed. Each store (the Convex host, the local queue, the results cache) is a
*component* with its own row in ``schemaVersions``, so all of them can share one
PostgreSQL database or keep their own SQLite files.

Version 1 is the schema of the first release (the one made by ``CREATE TABLE IF NOT
EXISTS`` before versions were kept); a database that has the component's tables but no
version row is at version 1.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    inspect,
    select,
    text,
)
from sqlalchemy.schema import CreateColumn

from backend.storage.engine import write_transaction

Step = Callable[[Connection], None]

_versions_metadata = MetaData()
versions = Table(
    "schemaVersions",
    _versions_metadata,
    Column("component", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
)


@dataclass(frozen=True)
class Schema:
    component: str
    metadata: MetaData
    # steps[i] brings version i + 1 to version i + 2.
    steps: Sequence[Step] = ()
    # A table of the first release: present without a version row means "version 1".
    legacy_table: str | None = None

    @property
    def latest(self) -> int:
        return len(self.steps) + 1


def migrate(engine: Engine, schema: Schema) -> int:
    """Create or upgrade ``schema`` in one transaction; returns the version it is now at.

    Concurrent callers (processes starting together) queue: SQLite's BEGIN IMMEDIATE,
    PostgreSQL's transaction-scoped advisory lock on the component's name."""
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            key = zlib.crc32(f"imagegen:{schema.component}".encode())
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        _versions_metadata.create_all(conn, checkfirst=True)
        row = conn.execute(
            select(versions.c.version).where(versions.c.component == schema.component)
        ).first()
        if row is not None:
            version = int(row[0])
        elif schema.legacy_table and inspect(conn).has_table(schema.legacy_table):
            version = 1
        else:
            schema.metadata.create_all(conn, checkfirst=True)
            version = schema.latest
        if version > schema.latest:
            raise RuntimeError(
                f"the {schema.component} tables are at schema version {version}, newer "
                f"than this program knows ({schema.latest}): upgrade imagegen"
            )
        start = version
        while version < schema.latest:
            schema.steps[version - 1](conn)
            version += 1
        if row is None:
            conn.execute(versions.insert().values(component=schema.component, version=version))
        elif version != start:
            conn.execute(
                versions.update()
                .where(versions.c.component == schema.component)
                .values(version=version)
            )
        return version


def add_missing_columns(conn: Connection, table: Table, names: Iterable[str]) -> list[str]:
    """``ALTER TABLE ADD COLUMN`` for each named column of ``table`` the database lacks
    (as declared in the metadata); returns the ones added."""
    have = {c["name"] for c in inspect(conn).get_columns(table.name)}
    added = []
    for name in names:
        if name in have:
            continue
        spec = CreateColumn(table.c[name]).compile(dialect=conn.dialect)
        quoted = conn.dialect.identifier_preparer.format_table(table)
        conn.execute(text(f"ALTER TABLE {quoted} ADD COLUMN {spec}"))
        added.append(name)
    return added
