"""The databases the storage tests run on: a SQLite file, and a throwaway PostgreSQL.

``database_url`` is parametrised over both dialects, so a test taking it runs twice.
Each PostgreSQL test gets a fresh, empty database in one cluster started per test
session. Set ``IMAGEGEN_TEST_DATABASES=sqlite`` (or ``postgresql``) to run one only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.postgres_cluster import PostgresCluster, find_bin_dir

DIALECTS = [
    name
    for name in ("sqlite", "postgresql")
    if name in os.environ.get("IMAGEGEN_TEST_DATABASES", "sqlite,postgresql").split(",")
]
DatabaseFactory = Callable[[], str]


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL is not installed: no initdb/pg_ctl in /usr/lib/postgresql/*/bin or "
            "on PATH (Debian: apt-get install postgresql)"
        )
    cluster = PostgresCluster(bin_dir).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=DIALECTS)
def database_factory(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseFactory:
    """Makes new, empty databases of the test's dialect (a path or a PostgreSQL URL)."""
    made: list[int] = []

    if request.param == "sqlite":

        def new_sqlite() -> str:
            made.append(1)
            return str(tmp_path / f"db{len(made)}" / "convex.sqlite3")

        return new_sqlite
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return cluster.new_database


@pytest.fixture
def database_url(database_factory: DatabaseFactory) -> str:
    """One database for the test: a SQLite file path, or a PostgreSQL URL."""
    return database_factory()
