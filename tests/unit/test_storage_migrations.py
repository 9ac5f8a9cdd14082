"""Schema versions: a fresh database gets today's tables on both dialects, an old SQLite
file of an earlier release keeps its data and keeps working, and several processes opening
one fresh database at once make its tables exactly once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select

from backend.convex_host.database import ConvexDatabase
from backend.convex_host.ids import new_id
from backend.convex_host.tables import SCHEMA
from backend.storage.engine import database_url, make_engine
from backend.storage.migrate import migrate, versions
from tests.unit.convex_support import ALICE, mut, qry

SESSION = new_id("sessions")
OLD_SCHEMA = Path(__file__).parents[1] / "data" / "convex_schema_v1.sql"
TOKEN = f"{ALICE.claims['iss']}|{ALICE.user_id}"


def _version(db: ConvexDatabase) -> int:
    with db.read() as conn:
        found = conn.execute(select(versions.c.version).where(versions.c.component == "convex"))
        return int(found.scalar_one())


def test_a_fresh_database_is_made_at_the_latest_version_and_reopens(database_url: str) -> None:
    with ConvexDatabase(database_url) as db:
        assert _version(db) == SCHEMA.latest
        session = mut(db, "sessions:createSession", {"title": "t", "type": "image"})
    with ConvexDatabase(database_url) as again:  # a restart changes nothing
        assert _version(again) == SCHEMA.latest
        assert [s["_id"] for s in qry(again, "sessions:getUserSessions", {})] == [session]
        with again.read() as conn:
            names = set(inspect(conn).get_table_names())
    assert {"users", "generations", "sessions", "sessionGenerations", "holds"} <= names


def _old_file(path: Path) -> None:
    """A data dir of the release before: its tables, a user, one session of two tiles."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA.read_text())
        conn.execute(
            "INSERT INTO users VALUES ('u1', 1, ?, ?, 50, 0, 0, 4)", (TOKEN, ALICE.user_id)
        )
        conn.execute(
            "INSERT INTO sessions VALUES (?, 1, 'u1', 'Old', 'image', NULL, 1, 1)", (SESSION,)
        )
        for n in (1, 2):  # same createdAt: insertion order (rowid) decides
            conn.execute(
                "INSERT INTO sessionGenerations (_id, _creationTime, sessionId, userId, prompt,"
                " model, images, createdAt) VALUES (?, 1, ?, 'u1', ?, 'm', '[]', 5)",
                (f"g{n}", SESSION, f"tile {n}"),
            )
    conn.close()


def test_an_old_sqlite_file_keeps_its_data_and_works(tmp_path: Path) -> None:
    path = tmp_path / "data" / "convex.sqlite3"
    _old_file(path)
    with ConvexDatabase(path) as db:
        assert _version(db) == SCHEMA.latest
        assert qry(db, "users:getUserCredits", {})["credits"] == 50
        tiles = qry(db, "sessions:getSessionGenerations", {"sessionId": SESSION})
        assert [t["prompt"] for t in tiles] == ["tile 1", "tile 2"]
        assert all("_seq" not in t for t in tiles)
        page = qry(db, "sessions:getLibraryPage", {"numItems": 1})
        assert [d["prompt"] for d in page["page"]] == ["tile 1"] and not page["isDone"]
        rest = qry(db, "sessions:getLibraryPage", {"cursor": page["continueCursor"]})
        assert [d["prompt"] for d in rest["page"]] == ["tile 2"] and rest["isDone"]
        assert mut(db, "users:reserveCredits", {"amount": 20}) == {"success": True}
    with sqlite3.connect(path) as conn:  # still a plain SQLite file in WAL mode
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT reservedCredits FROM users").fetchone()[0] == 20
    conn.close()


def test_a_newer_schema_than_this_program_knows_is_refused(database_url: str) -> None:
    ConvexDatabase(database_url).close()
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(versions.update().values(version=SCHEMA.latest + 1))
    with pytest.raises(RuntimeError, match="newer than this program knows"):
        migrate(engine, SCHEMA)
    engine.dispose()


def _open(url: str, barrier: Any, queue: Any) -> None:
    try:
        barrier.wait(timeout=30)
        with ConvexDatabase(url) as db:
            queue.put(_version(db))
    except BaseException as exc:
        queue.put(repr(exc))


def test_processes_opening_one_fresh_database_at_once_make_it_once(database_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(3), ctx.Queue()
    workers = [ctx.Process(target=_open, args=(database_url, barrier, queue)) for _ in range(3)]
    for w in workers:
        w.start()
    results = [queue.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(10)
    assert results == [SCHEMA.latest] * 3


def test_database_urls() -> None:
    assert database_url("/tmp/x/convex.sqlite3") == "sqlite:////tmp/x/convex.sqlite3"
    assert database_url("postgresql://u:p@h:5/db") == "postgresql+psycopg://u:p@h:5/db"
    with pytest.raises(ValueError, match="unsupported database"):
        database_url("mysql://u@h/db")
    with pytest.raises(ValueError, match="in-memory"):
        make_engine("sqlite://")
