"""The databases the tests run on: a SQLite file, and a throwaway PostgreSQL.

``database_url`` is parametrised over both dialects, so a test taking it runs twice.
Each PostgreSQL test gets a fresh, empty database in one cluster started per test
session. Set ``IMAGEGEN_TEST_DATABASES=sqlite`` (or ``postgresql``) to run one only.

``backend_database`` is where the backends a test starts keep their state: the
embedded default (SQLite files in the data dir, nothing configured) or a PostgreSQL
database per data dir. It runs on both dialects where ``tests/conftest.py`` parametrises
it (the integration suites, and modules marked ``both_databases``); elsewhere it is the
embedded default only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.postgres_cluster import PostgresCluster, find_bin_dir
from tests.required_services import service_missing

DIALECTS = [
    name
    for name in ("sqlite", "postgresql")
    if name in os.environ.get("IMAGEGEN_TEST_DATABASES", "sqlite,postgresql").split(",")
]
DatabaseFactory = Callable[[], str]


class BackendDatabases:
    """The database of each data dir a test starts a backend on.

    SQLite: ``None``, the embedded default (the stores' SQLite files in the data dir,
    exactly as shipped). PostgreSQL: a fresh database per data dir, so a restart on the
    same dir finds its data and another dir is another installation.
    """

    def __init__(self, dialect: str, cluster: PostgresCluster | None = None) -> None:
        self.dialect = dialect
        self._cluster = cluster
        self._urls: dict[Path, str] = {}

    def url_for(self, data_dir: Path) -> str | None:
        if self._cluster is None:
            return None
        key = Path(data_dir).resolve()
        if key not in self._urls:
            self._urls[key] = self._cluster.new_database()
        return self._urls[key]

    def target(self, data_dir: Path, sqlite_name: str) -> str | Path:
        """Where a store opened without a backend keeps its tables (same rule)."""
        return self.url_for(data_dir) or Path(data_dir) / sqlite_name


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        service_missing(
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


@pytest.fixture(scope="module")
def backend_database(request: pytest.FixtureRequest) -> BackendDatabases:
    """Module-scoped so a backend shared by a module's tests can use it too; each test's
    own data dir (under its tmp_path) still gets a fresh database."""
    dialect: str = getattr(request, "param", "sqlite")
    if dialect == "sqlite":
        return BackendDatabases("sqlite")
    return BackendDatabases(dialect, request.getfixturevalue("postgres_cluster"))
