"""The Convex HTTP function API over a real uvicorn server, driven by the official
`convex` Python client (unchanged) and by raw HTTP for the error shapes."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from convex import ConvexError
from convex.http_client import ConvexExecutionError, ConvexHttpClient
from sqlalchemy import select

from backend.auth.dev_keys import DevKeyPair
from backend.convex_host import router
from backend.convex_host.tables import users
from tests.database_fixtures import BackendDatabases
from tests.integration.convex_support import Host, convex_host


@pytest.fixture(scope="module")
def host(
    tmp_path_factory: pytest.TempPathFactory, backend_database: BackendDatabases
) -> Iterator[Host]:
    root = tmp_path_factory.mktemp("convex-host")
    database = backend_database.url_for(root)
    with convex_host(root, starting_credits=200, slot_limit=4, database=database) as h:
        yield h


def new_sub() -> str:
    return f"user_{uuid.uuid4().hex[:12]}"


def test_official_client_runs_queries_and_mutations(host: Host) -> None:
    client = host.client(new_sub())
    assert client.query("users:getUserCredits") == {
        "totalCredits": 200.0,
        "credits": 200.0,
        "additionalCredits": 0.0,
    }
    assert client.mutation("users:reserveCredits", {"amount": 12}) == {"success": True}
    assert client.query("users:getUserCreditsBreakdown")["reserved"] == 12.0
    session_id = client.mutation("sessions:createSession", {"title": "Hello", "type": "image"})
    slot = client.mutation("generations:acquireGenerationSlot", {"type": "image", "prompt": "x"})
    assert slot["ok"] is True
    tile = client.mutation(
        "sessions:addGenerationToSession",
        {
            "sessionId": session_id,
            "prompt": "x",
            "model": "flux-schnell",
            "numImages": 2,
            "isLoading": True,
            "concurrencySlotId": slot["generationId"],
        },
    )
    [doc] = client.query("sessions:getSessionGenerations", {"sessionId": session_id})
    assert doc["_id"] == tile and doc["numImages"] == 2.0 and doc["isLoading"] is True
    assert isinstance(doc["_creationTime"], float)
    [session] = client.query("sessions:getUserSessions")
    assert session["_id"] == session_id and session["title"] == "Hello"


def test_function_errors_reach_the_official_client(host: Host) -> None:
    alice, bob = host.client(new_sub()), host.client(new_sub())
    session_id = alice.mutation("sessions:createSession", {"title": "a", "type": "image"})
    with pytest.raises(ConvexError) as info:
        bob.query("sessions:getSessionGenerations", {"sessionId": session_id})
    assert "Not authorized" in str(info.value.data)
    with pytest.raises(ConvexExecutionError, match="Could not find public function for 'nope:x'"):
        alice.query("nope:x")
    with pytest.raises(ConvexExecutionError, match="ArgumentValidationError"):
        alice.mutation("users:reserveCredits", {"amount": "lots"})
    with pytest.raises(ConvexExecutionError, match="extra field `providerEndpoint`"):
        alice.mutation(
            "sessions:addGenerationToSession",
            {"sessionId": session_id, "prompt": "p", "model": "m", "providerEndpoint": "x"},
        )
    with pytest.raises(ConvexExecutionError, match="defined as Mutation"):
        alice.action("users:reserveCredits", {"amount": 1})


def test_auth_failures(host: Host) -> None:
    # No token: an anonymous call, refused by the function itself (HTTP 200, as Convex).
    with pytest.raises(ConvexError, match="Not authenticated"):
        host.client().query("users:getUserCredits")
    expired = ConvexHttpClient(host.url)
    expired.set_auth(host.keys.issue_token(new_sub(), ttl_s=60, now=time.time() - 3600))
    with pytest.raises(Exception, match="401 token_expired"):
        expired.query("users:getUserCredits")
    forged = ConvexHttpClient(host.url)
    forged.set_auth(DevKeyPair.generate().issue_token(new_sub()))
    with pytest.raises(Exception, match="401 unauthorized"):
        forged.mutation("users:reserveCredits", {"amount": 1})
    with host.db.read() as conn:
        subjects = list(conn.execute(select(users.c.subject)).scalars())
    assert all(s.startswith("user_") for s in subjects)


def test_raw_http_shapes(host: Host) -> None:
    token = host.keys.issue_token(new_sub())
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=host.url, headers=headers, timeout=10) as http:
        ok = http.post(
            "/api/mutation",
            json={"path": "users:reserveCredits", "args": {"amount": 500}, "format": "json"},
        )
        assert ok.status_code == 200
        body = ok.json()
        assert body["status"] == "success" and body["logLines"] == []
        assert (
            body["value"]["success"] is False and "Not enough credits" in body["value"]["message"]
        )

        err = http.post("/api/query", json={"path": "x:y", "args": {}, "format": "json"})
        assert err.status_code == 200
        assert err.json()["status"] == "error" and "errorData" not in err.json()

        bad = http.post(
            "/api/query", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert bad.status_code == 400 and bad.json()["code"] == "BadJsonBody"
        assert http.post("/api/query", json={"args": {}}).status_code == 400
        fmt = http.post("/api/query", json={"path": "users:getUserCredits", "format": "xml"})
        assert fmt.status_code == 400

        # Hostile inputs are Convex-style refusals, never a 500.
        bomb = http.post("/api/query", content=b"[" * 100_000 + b"]" * 100_000)
        assert bomb.status_code == 400
        for encoded in ({"$integer": "AAAA"}, {"$float": "!!"}, {"$nope": 1}):
            weird = http.post(
                "/api/mutation", json={"path": "users:reserveCredits", "args": {"amount": encoded}}
            )
            assert weird.status_code == 200 and weird.json()["status"] == "error"
            assert "ArgumentValidationError" in weird.json()["errorMessage"]
        deep: list[object] = []
        for _ in range(100):
            deep = [deep]
        nested = http.post("/api/query", json={"path": "users:getUserCredits", "args": {"x": deep}})
        assert "nested more than 64 levels" in nested.json()["errorMessage"]

        denied = http.post(
            "/api/query",
            json={"path": "users:getUserCredits", "args": {}},
            headers={"Authorization": "Bearer garbage"},
        )
        assert denied.status_code == 401
        assert denied.json()["code"] == "unauthorized" and denied.json()["message"]


def test_oversized_body_is_refused_while_it_streams(
    host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A chunked body that passes the cap and then never ends: the host must answer 413 as
    # soon as the cap is passed, not wait for (and buffer) a body that never finishes.
    monkeypatch.setattr(router, "MAX_BODY_BYTES", 64 * 1024)
    parts = urlsplit(host.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"POST {parts.path}/api/query HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b"x" * 16 * 1024
        for _ in range(8):  # 128 KiB sent, the final zero-length chunk never is
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        answer = b""
        while b'"TooLarge"' not in answer:  # headers and body may arrive apart
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert b'"TooLarge"' in answer
