"""The local provider's ``jobs`` table, and the steps that brought older files up to it.

Version 1 is the first release's table; 2 added the claim columns (a lease with an owner
and a heartbeat); 3 added ``reference`` (the billing hold a job was made for, once read
out of the request JSON with SQLite's ``json_extract``).
"""

from __future__ import annotations

import json

from sqlalchemy import Column, Connection, Float, Integer, MetaData, Table, Text, select

from backend.storage.migrate import Schema, add_missing_columns

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("model_id", Text, nullable=False),
    Column("request_json", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("queue_s", Float, nullable=False),
    Column("run_s", Float, nullable=False),
    Column("fail", Integer, nullable=False, server_default="0"),
    Column("fail_reason", Text),
    Column("state", Text, nullable=False, server_default="pending"),
    Column("claimed_at", Float),
    Column("result_json", Text),
    Column("error", Text),
    Column("claimed_by", Text),
    Column("claimed_pid", Integer),
    Column("claimed_host", Text),
    Column("heartbeat_at", Float),
    Column("reference", Text, index=True),
    sqlite_autoincrement=True,
)


def _claim_columns(conn: Connection) -> None:
    add_missing_columns(conn, jobs, ["claimed_by", "claimed_pid", "claimed_host", "heartbeat_at"])


def _reference(conn: Connection) -> None:
    add_missing_columns(conn, jobs, ["reference"])
    for index in jobs.indexes:
        index.create(conn, checkfirst=True)
    for job_id, request_json in conn.execute(
        select(jobs.c.id, jobs.c.request_json).where(jobs.c.reference.is_(None))
    ).all():
        reference = json.loads(request_json).get("reference")
        if isinstance(reference, str):
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(reference=reference))


SCHEMA = Schema("local_queue", metadata, steps=(_claim_columns, _reference), legacy_table="jobs")
