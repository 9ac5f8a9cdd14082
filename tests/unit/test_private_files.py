"""The data dir is owner-only: folders 0700, databases (and their -wal/-shm) and secrets 0600,
whatever the process umask (issue 12, part 6)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backend.auth.dev_keys import KEY_FILE, DevKeyPair
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.tables import users
from backend.private_files import (
    private_dir,
    private_file,
    private_sqlite,
    replace_private_file,
    write_private_file,
)
from backend.providers.local_queue import JobQueue
from backend.results_cache import ResultsCache
from backend.secrets import load_or_create_secret
from backend.store.local import LocalObjectStore
from gui.engine.journal import Journal

UMASKS = (0o000, 0o022, 0o077, 0o277)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    """Set the process umask for the test; the original is restored afterwards."""
    original = os.umask(0o022)
    os.umask(original)

    def set_umask(value: int) -> None:
        os.umask(value)

    try:
        yield set_umask
    finally:
        os.umask(original)


@pytest.mark.parametrize("mask", UMASKS)
def test_private_dir_is_0700_whatever_the_umask(
    tmp_path: Path, umask: Callable[[int], None], mask: int
) -> None:
    umask(mask)
    made = private_dir(tmp_path / "a" / "data")
    assert made.is_dir()
    assert mode(made) == 0o700


def test_private_dir_tightens_an_existing_open_folder(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(0o755)
    private_dir(folder)
    assert mode(folder) == 0o700


@pytest.mark.parametrize("mask", UMASKS)
def test_private_file_is_0600_whatever_the_umask(
    tmp_path: Path, umask: Callable[[int], None], mask: int
) -> None:
    umask(mask)
    path = private_file(tmp_path / "data" / "x.sqlite3")
    assert path.exists() and path.stat().st_size == 0
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_private_file_keeps_content_and_tightens_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    path.write_bytes(b"content")
    path.chmod(0o644)
    private_file(path)
    assert path.read_bytes() == b"content"
    assert mode(path) == 0o600


def test_private_sqlite_tightens_side_files_left_by_an_older_version(tmp_path: Path) -> None:
    db = tmp_path / "data" / "convex.sqlite3"
    db.parent.mkdir()
    for name in (db.name, db.name + "-wal", db.name + "-shm"):
        (db.parent / name).write_bytes(b"")
        (db.parent / name).chmod(0o644)
    private_sqlite(db)
    assert {p.name: mode(p) for p in db.parent.iterdir()} == {
        "convex.sqlite3": 0o600,
        "convex.sqlite3-wal": 0o600,
        "convex.sqlite3-shm": 0o600,
    }


@pytest.mark.parametrize("mask", (0o000, 0o277))
def test_write_and_replace_private_file(
    tmp_path: Path, umask: Callable[[int], None], mask: int
) -> None:
    umask(mask)
    path = tmp_path / "d" / "secret"
    write_private_file(path, b"first")
    write_private_file(path, b"second")  # the first writer wins
    assert path.read_bytes() == b"first"
    assert mode(path) == 0o600
    replace_private_file(path, b"third")
    assert path.read_bytes() == b"third"
    assert mode(path) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret"]  # no temp files left


def _assert_private_db(path: Path) -> None:
    assert mode(path.parent) == 0o700, oct(mode(path.parent))
    names = [path.name + suffix for suffix in ("", "-wal", "-shm")]
    found = {name: oct(mode(path.parent / name)) for name in names if (path.parent / name).exists()}
    assert path.name in found
    assert path.name + "-wal" in found, "WAL mode expected: the test would prove nothing"
    assert set(found.values()) == {oct(0o600)}, found


def test_convex_database_and_its_wal_are_private(
    tmp_path: Path, umask: Callable[[int], None]
) -> None:
    umask(0o000)
    path = tmp_path / "data" / "convex.sqlite3"
    with ConvexDatabase(path) as db:
        with db.write() as conn:
            conn.execute(
                users.insert().values(
                    _id="u1",
                    _creationTime=0,
                    tokenIdentifier="t|u1",
                    subject="u1",
                    credits=1,
                    slotLimit=4,
                )
            )
        _assert_private_db(path)


def test_results_cache_is_private(tmp_path: Path, umask: Callable[[int], None]) -> None:
    umask(0o000)
    path = tmp_path / "data" / "results.sqlite3"
    cache = ResultsCache(path)
    cache._put("k", ["http://x/y.png"])
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            assert mode(side) == 0o600


def test_local_job_queue_is_private(tmp_path: Path, umask: Callable[[int], None]) -> None:
    umask(0o000)
    path = tmp_path / "data" / "local_queue.sqlite3"
    queue = JobQueue(path)
    queue.create("m", {"prompt": "p"}, queue_s=0, run_s=0, fail_reason=None)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            assert mode(side) == 0o600


def test_client_journal_and_its_wal_are_private(
    tmp_path: Path, umask: Callable[[int], None]
) -> None:
    umask(0o000)
    path = tmp_path / "client" / "journal-embedded.sqlite3"
    journal = Journal(path)
    try:
        journal.create("local-1", {"prompt": "p"})
        _assert_private_db(path)
    finally:
        journal.close()


def test_secrets_and_dev_key_are_private(tmp_path: Path, umask: Callable[[int], None]) -> None:
    umask(0o000)
    data = tmp_path / "data"
    load_or_create_secret(data)
    DevKeyPair.load_or_create(data)
    assert mode(data) == 0o700
    assert mode(data / "signing.key") == 0o600
    assert mode(data / KEY_FILE) == 0o600


def test_an_existing_world_readable_secret_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "signing.key").write_bytes(b"s" * 32)
    (data / "signing.key").chmod(0o644)
    assert load_or_create_secret(data) == b"s" * 32
    assert mode(data / "signing.key") == 0o600


def test_local_store_folder_is_private(tmp_path: Path, umask: Callable[[int], None]) -> None:
    umask(0o000)
    store = LocalObjectStore(tmp_path / "data" / "files", "http://127.0.0.1:1", b"k" * 32)
    assert mode(store.root) == 0o700
