"""F7: a client that hangs up mid-body is not a server error (no 500, no error log)."""

from __future__ import annotations

import logging
import socket
import time
from urllib.parse import urlsplit

import pytest

from backend.server import EmbeddedBackend


def _send_half_a_body_and_hang_up(base_url: str, path: str) -> None:
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), 10) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        )
        sock.sendall(head.encode() + b'{"path": "users:getUserCredits", "args"')


@pytest.mark.parametrize("path", ["/convex/api/query", "/api/dev/token"])
def test_client_disconnect_mid_body_is_not_logged_as_an_error(
    backend: EmbeddedBackend, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="backend")
    _send_half_a_body_and_hang_up(backend.base_url, path)
    deadline = time.monotonic() + 20
    # The server notices the hang-up on its own thread; wait for its (debug) record.
    while not any("client disconnected" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
        time.sleep(0.02)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
