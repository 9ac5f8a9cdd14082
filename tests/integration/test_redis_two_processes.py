"""Two backend processes sharing one Redis share one rate limit per user.

Each process is a real EmbeddedBackend (its own data dir, keys and port) started with
``python -c`` and pointed at a redis-server this test starts. A user's requests are
counted together whichever process serves them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import dev_token
from tests.integration.platform_fixtures import redis_url
from tests.integration.routes_support import GENERATE_PATH, api_client, assert_error

__all__ = ["redis_url"]  # the fixture, re-exported so pytest finds it here

LIMIT = 4
_CHILD = """
import sys
from pathlib import Path
from backend.server import EmbeddedBackend

backend = EmbeddedBackend(
    Path(sys.argv[1]),
    redis_url=sys.argv[2],
    rate_limit_generate=int(sys.argv[3]),
    rate_limit_window_s=300.0,
    local_queue_s=60.0,
).start()
print(backend.base_url, flush=True)
sys.stdin.read()  # run until the test closes our stdin
backend.stop()
"""


def _start(data_dir: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(data_dir), url, str(LIMIT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.fixture
def two_backends(tmp_path: Path, redis_url: str) -> Iterator[list[str]]:
    procs = [_start(tmp_path / name, redis_url) for name in ("a", "b")]
    try:
        urls = []
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()  # blocks until the child is serving
            assert line.startswith("http://127.0.0.1:"), f"backend did not start: {line!r}"
            urls.append(line)
        yield urls
    finally:
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_two_processes_share_the_limit(two_backends: list[str]) -> None:
    url_a, url_b = two_backends
    assert url_a != url_b
    body = {"prompt": "a shared limit", "model": "img-flux-2-max"}
    with (
        api_client(url_a, dev_token(url_a, "shared-user")) as a,
        api_client(url_b, dev_token(url_b, "shared-user")) as b,
    ):
        # LIMIT requests split over both processes all pass...
        for client in (a, b, a, b)[:LIMIT]:
            resp = client.post(GENERATE_PATH, json=body)
            assert resp.status_code == 200, resp.text
        # ...and the next one is refused by either process.
        for client in (a, b):
            resp = client.post(GENERATE_PATH, json=body)
            assert_error(resp, 429, "rate_limited")
            assert int(resp.headers["Retry-After"]) >= 1
        # Another user has their own budget on the same Redis.
        with api_client(url_b, dev_token(url_b, "another-user")) as other:
            assert other.post(GENERATE_PATH, json=body).status_code == 200
