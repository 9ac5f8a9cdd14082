"""A real backend started under a permissive umask leaves nothing in its data dir that other
local users can read: the folder is 0700, every file in it 0600 (databases with their
-wal/-shm, secrets, the port file) and the local store's folder 0700 (issue 12, part 6).
On PostgreSQL the data dir keeps no database file at all: every store is in that database."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BackendFactory, dev_token
from tests.database_fixtures import BackendDatabases
from tests.integration.routes_support import api_client, generate_images

SYNC_MODEL = "img-imagen4-preview"
QUEUED_MODEL = "img-seedream-v45"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    original = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(original)


def test_backend_data_dir_is_owner_only(
    open_umask: None,
    backend_factory: BackendFactory,
    backend_database: BackendDatabases,
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "srv" / "data"
    backend = backend_factory(data_dir)
    with api_client(backend.base_url, dev_token(backend)) as client:
        generate_images(client, {"prompt": "a fox", "model": SYNC_MODEL})
        generate_images(client, {"prompt": "a tree", "model": QUEUED_MODEL})
        credits = client.post(
            "/convex/api/query", json={"path": "users:getUserCredits", "args": {}}
        )
        assert credits.status_code == 200, credits.text
        # Checked while the server runs, so the -wal and -shm files are still there.
        assert mode(data_dir) == 0o700
        files = {p.name: mode(p) for p in data_dir.iterdir() if p.is_file()}
        names = set(files)
        stores = {"convex.sqlite3", "results.sqlite3", "local_queue.sqlite3"}
        if backend_database.dialect == "sqlite":
            assert stores <= names, names
            assert "convex.sqlite3-wal" in names, names
        else:
            assert not [name for name in names if ".sqlite3" in name], names
            assert names, "the secrets and the port file stay in the data dir"
        assert {name: oct(m) for name, m in files.items() if m != 0o600} == {}
        folders = {p.name: mode(p) for p in data_dir.iterdir() if p.is_dir()}
        assert folders, "the local store's folder should exist after a generation"
        assert {name: oct(m) for name, m in folders.items() if m != 0o700} == {}
