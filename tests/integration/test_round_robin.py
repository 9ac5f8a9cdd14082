"""The loopback round-robin balancer the three-process suite and the cluster load run use:
it spreads requests (on kept-alive client connections too), streams sized and chunked
answers through whole, skips an upstream that refuses connections, and answers a clear
JSON error when none is left or the request is garbage."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from backend.runner import ThreadedServer, free_port
from bench.reliability.cluster import start_balancer, stop_process


def _upstream(name: str) -> FastAPI:
    app = FastAPI()

    @app.get("/who")
    async def who() -> dict[str, str]:
        return {"name": name}

    @app.post("/echo")
    async def echo(body: dict[str, object]) -> dict[str, object]:
        return {"name": name, "body": body}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for i in range(5):
                yield f"part{i};".encode() * 5000

        return StreamingResponse(parts(), media_type="text/plain")

    return app


@pytest.fixture
def upstreams() -> Iterator[list[ThreadedServer]]:
    servers = [ThreadedServer(_upstream(name)).start() for name in ("a", "b")]
    yield servers
    for server in servers:
        server.stop()


def test_spreads_streams_and_skips_a_dead_upstream(upstreams: list[ThreadedServer]) -> None:
    dead = free_port()  # nothing listens there: a killed process
    port = free_port()
    balancer = start_balancer(port, [upstreams[0].port, dead, upstreams[1].port])
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            names = [client.get("/who").json()["name"] for _ in range(6)]
            # One kept-alive connection, yet every request went to the next live upstream.
            assert names == ["a", "b", "a", "b", "a", "b"]
            posted = client.post("/echo", json={"k": "v" * 100_000})
            assert posted.json()["body"] == {"k": "v" * 100_000}
            streamed = client.get("/stream")
            assert streamed.headers.get("transfer-encoding") == "chunked"
            assert streamed.text == "".join(f"part{i};" * 5000 for i in range(5))
            stats = client.get("/_lb/stats").json()
        assert stats["refused"][str(dead)] >= 3
        assert stats["sent"][str(dead)] == 0
        assert stats["sent"][str(upstreams[0].port)] >= 4
    finally:
        stop_process(balancer)


def test_no_upstream_left_and_garbage_get_clear_errors() -> None:
    port = free_port()
    balancer = start_balancer(port, [free_port(), free_port()])
    try:
        resp = httpx.get(f"http://127.0.0.1:{port}/who", timeout=10)
        assert resp.status_code == 502
        assert resp.json() == {"error": "No server process is reachable.", "code": "bad_gateway"}
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"NONSENSE\r\n\r\n")
            answer = raw.recv(4096)
        assert answer.startswith(b"HTTP/1.1 400")
        assert b'"code": "bad_request"' in answer
    finally:
        stop_process(balancer)
