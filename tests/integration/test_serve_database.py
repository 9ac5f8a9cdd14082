"""`imagegen serve --database URL`: two real server processes on one PostgreSQL database
answer for each other's users, money and jobs, and keep no state in SQLite files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from backend.convex_host.tables import holds, users
from backend.server import serve_main
from tests.conftest import dev_token
from tests.integration.routes_support import GENERATE_PATH, api_client, resolve
from tests.integration.serve_processes import ServeProcesses
from tests.postgres_cluster import PostgresCluster

Serve = Callable[[Path, str], str]
QUEUED_MODEL = "img-flux-2-max"


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers = ServeProcesses()

    def start(data_dir: Path, database: str) -> str:
        flags = ["--dev-auth", "--local-providers", "--database", database]
        return servers.start(["--data-dir", str(data_dir), *flags], {"DATABASE_URL": ""})

    yield start
    servers.stop_all()


def _convex(client: httpx.Client, kind: str, path: str, args: dict[str, object]) -> object:
    resp = client.post(f"/convex/api/{kind}", json={"path": path, "args": args, "format": "json"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "success", body
    return body["value"]


def test_two_servers_on_one_postgres_database_share_all_state(
    serve: Serve, postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    url = postgres_cluster.new_database()
    data_dir = tmp_path / "shared"  # keys and files; the state is in PostgreSQL
    one = serve(data_dir, url)
    two = serve(data_dir, url)
    token = dev_token(one, "pg-user")
    with api_client(one, token) as a, api_client(two, token) as b:
        assert _convex(a, "mutation", "users:reserveCredits", {"amount": 7}) == {"success": True}
        breakdown = _convex(b, "query", "users:getUserCreditsBreakdown", {})
        assert breakdown == {"total": 200, "reserved": 7, "available": 193}
        _convex(b, "mutation", "users:releaseReservedCredits", {"amount": 7})
        # A queued job submitted to one server is answered (and settled) by the other.
        resp = a.post(
            GENERATE_PATH,
            json={"prompt": "a fox", "model": QUEUED_MODEL, "idempotencyKey": "pg-key-0001"},
        )
        assert resp.status_code == 200, resp.text
        request_id = resp.json()["requestId"]
        done = resolve(b, request_id, QUEUED_MODEL)
        assert done["success"] is True and len(done["images"]) == 1
        after = _convex(a, "query", "users:getUserCreditsBreakdown", {})
        assert after["reserved"] == 0 and after["total"] < 200
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 1
        assert conn.execute(select(holds.c.state)).scalars().all() == ["settled"]
    engine.dispose()
    assert not list(data_dir.glob("*.sqlite3")), list(data_dir.iterdir())


def test_serve_refuses_a_database_it_cannot_use(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve_main(["--dev-auth", "--database", "mysql://u@h/db"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--database" in err and "unsupported database" in err
    assert len(err.splitlines()) == 1
