"""`imagegen serve --database URL`: two real server processes on one PostgreSQL database
answer for each other's users, money and jobs, and keep no state in SQLite files."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from backend.convex_host.tables import holds, users
from backend.runner import free_port
from backend.server import serve_main
from tests.conftest import dev_token
from tests.integration.routes_support import GENERATE_PATH, api_client, resolve
from tests.integration.test_routes_serve import REPO, _clean_env
from tests.postgres_cluster import PostgresCluster

Serve = Callable[[Path, str], str]
QUEUED_MODEL = "img-flux-2-max"


@pytest.fixture
def serve() -> Iterator[Serve]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(data_dir: Path, database: str) -> str:
        port = free_port()
        flags = ["--dev-auth", "--local-providers", "--database", database]
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from backend.server import serve_main;"
                " sys.exit(serve_main(sys.argv[1:]))",
                *["--port", str(port), "--data-dir", str(data_dir), *flags],
            ],
            cwd=REPO,
            env={**_clean_env(), "DATABASE_URL": ""},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60  # a startup deadline, not a timing assertion
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    return base
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise AssertionError(f"serve exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise AssertionError("serve did not start")
            time.sleep(0.05)

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
