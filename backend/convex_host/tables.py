"""The Convex host's tables as SQLAlchemy metadata, named as in the seed's schema.

The same declarations make the tables on SQLite and PostgreSQL; the dialect quotes the
camelCase names. ``_seq`` orders rows by insertion where a timestamp can tie (PostgreSQL
fills it; SQLite uses its ``rowid``, see :func:`backend.storage.sql.seq_of`).
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

from backend.storage.migrate import Schema, add_missing_columns
from backend.storage.sql import SEQ, seq_column

metadata = MetaData()


def _doc(name: str, *columns: Column[object] | CheckConstraint | UniqueConstraint) -> Table:
    return Table(
        name,
        metadata,
        Column("_id", Text, primary_key=True),
        Column("_creationTime", Float, nullable=False),
        *columns,
    )


users = _doc(
    "users",
    Column("tokenIdentifier", Text, nullable=False, unique=True),
    Column("subject", Text, nullable=False),
    Column("credits", Float, nullable=False),
    Column("additionalCredits", Float, nullable=False, server_default="0"),
    Column("reservedCredits", Float, nullable=False, server_default="0"),
    Column("slotLimit", Integer, nullable=False),
)
Index("users_by_subject", users.c.subject)

generations = _doc(
    "generations",
    Column("userId", Text, ForeignKey("users._id"), nullable=False),
    Column("type", Text, nullable=False),
    Column("prompt", Text),
    Column("status", Text, nullable=False),
    Column("imageUrl", Text),
    Column("createdAt", Float, nullable=False),
    Column("completedAt", Float),
    CheckConstraint("status IN ('active', 'completed', 'failed')"),
)
Index("generations_by_user_status", generations.c.userId, generations.c.status)

sessions = _doc(
    "sessions",
    Column("userId", Text, ForeignKey("users._id"), nullable=False),
    Column("title", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("preview", Text),
    Column("createdAt", Float, nullable=False),
    Column("updatedAt", Float, nullable=False),
    seq_column(),
)
Index("sessions_by_user", sessions.c.userId, sessions.c.updatedAt)

session_generations = _doc(
    "sessionGenerations",
    Column("sessionId", Text, ForeignKey("sessions._id", ondelete="CASCADE"), nullable=False),
    Column("userId", Text, ForeignKey("users._id"), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("type", Text, nullable=False, server_default="image"),
    Column("model", Text, nullable=False),
    Column("modelLabel", Text),
    Column("aspectRatio", Text),
    Column("numImages", Float),
    Column("images", Text, nullable=False, server_default="[]"),
    Column("isLoading", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("createdAt", Float, nullable=False),
    Column("completedAt", Float),
    Column("externalRequestId", Text),
    Column("concurrencySlotId", Text),
    Column("quality", Text),
    seq_column(),
)
Index(
    "session_generations_by_session",
    session_generations.c.sessionId,
    session_generations.c.createdAt,
)
Index("session_generations_by_user", session_generations.c.userId, session_generations.c.isLoading)

favorites = _doc(
    "favorites",
    Column("userId", Text, ForeignKey("users._id"), nullable=False),
    Column(
        "generationId",
        Text,
        ForeignKey("sessionGenerations._id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("imageUrl", Text, nullable=False, server_default=""),
    Column("createdAt", Float, nullable=False),
    UniqueConstraint("userId", "generationId", "imageUrl"),
)

# The server's own holds on a generation's cost (backend/billing, docs/billing.md).
holds = Table(
    "holds",
    metadata,
    Column("_id", Text, primary_key=True),
    Column("userId", Text, ForeignKey("users._id"), nullable=False),
    Column("key", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("bodyHash", Text, nullable=False),
    Column("slotId", Text, nullable=False),
    Column("amount", Float, nullable=False),
    Column("numImages", Integer, nullable=False),
    Column("model", Text, nullable=False),
    Column("sessionId", Text),
    Column("generationId", Text),
    Column("state", Text, nullable=False),
    Column("jobKey", Text),
    Column("requestId", Text),
    Column("responseStatus", Integer),
    Column("response", Text),
    Column("charged", Float),
    Column("released", Float),
    Column("outcome", Text),
    Column("clientAck", Integer, nullable=False, server_default="0"),
    Column("cancelRequested", Integer, nullable=False, server_default="0"),
    Column("owner", Text),
    Column("createdAt", Float, nullable=False),
    Column("updatedAt", Float, nullable=False),
    Column("checkedAt", Float),
    Column("settledAt", Float),
    seq_column(),
    CheckConstraint("kind IN ('one-call', 'slot')"),
    CheckConstraint("state IN ('holding', 'submitted', 'settled')"),
    UniqueConstraint("userId", "key"),
)
Index("holds_by_job", holds.c.jobKey)
Index("holds_by_state", holds.c.state, holds.c.updatedAt)
Index("holds_by_ack", holds.c.userId, holds.c.clientAck, holds.c.amount)

# Each server process's heartbeat: a hold still "holding" whose owner stopped beating
# belonged to a server that died mid-call.
billing_owners = Table(
    "billingOwners",
    metadata,
    Column("id", Text, primary_key=True),
    Column("heartbeatAt", Float, nullable=False),
)

TABLES: dict[str, Table] = {t.name: t for t in metadata.sorted_tables}


def _add_seq(conn: Connection) -> None:
    """2: the insertion-order column (empty on SQLite, which orders by rowid)."""
    for table in (sessions, session_generations, holds):
        add_missing_columns(conn, table, [SEQ])


def _holds_tables(conn: Connection) -> None:
    """3: a data dir from before the server's billing: its holds tables (made by
    ``CREATE TABLE IF NOT EXISTS`` in that release, so usually present already)."""
    metadata.create_all(conn, tables=[holds, billing_owners], checkfirst=True)
    add_missing_columns(conn, holds, [SEQ])


SCHEMA = Schema("convex", metadata, steps=(_holds_tables, _add_seq), legacy_table="users")
