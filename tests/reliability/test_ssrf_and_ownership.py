"""SSRF through attachment URLs, other users' request ids and session ids, and rate-limit
bursts: every one is refused with a sentence, and nothing is fetched, created or leaked."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from backend.server import EmbeddedBackend
from tests.conftest import BackendFactory
from tests.reliability.conftest import (
    assert_api_error,
    bearer,
    invariant_problems,
    local_jobs,
    token_for,
)

SSRF_URLS = [
    "http://127.0.0.1/latest/meta-data",
    "http://localhost:6379/",
    "http://169.254.169.254/latest/meta-data/iam/",
    "http://10.0.0.1/x.png",
    "http://192.168.1.1/x.png",
    "http://172.16.0.5/x.png",
    "http://0.0.0.0/x.png",
    "http://0x7f.1/x.png",
    "http://0x7f000001/x.png",
    "http://2130706433/x.png",
    "http://017700000001/x.png",
    "http://127.1/x.png",
    "http://[::1]/x.png",
    "http://[::ffff:127.0.0.1]/x.png",
    "http://[::ffff:7f00:1]/x.png",
    "http://[0:0:0:0:0:ffff:a9fe:a9fe]/x.png",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "ftp://127.0.0.1/x.png",
    "data:image/png;base64,iVBORw0KGgo=",
    "//127.0.0.1/x.png",
    "http://evil.example/x.png",
    "http://127.0.0.1%2e/x.png",
    "http://127.0.0.1\t/x.png",
    "http://user:pass@127.0.0.1/x.png",
]


def _store_lookalikes(base: str) -> list[str]:
    """Addresses built to look like our store's prefix but point elsewhere."""
    host = base.split("//", 1)[1]
    return [
        f"http://{host}@evil.example/files/uploads/a.png",
        f"http://evil.example#@{host}/files/uploads/a.png",
        f"http://evil.example?@{host}/files/uploads/a.png",
        f"{base}.evil.example/files/uploads/a.png",
        f"{base}/files/../../etc/passwd",
        f"{base}/files/%2e%2e/%2e%2e/signing.key",
        f"{base}/files/uploads/..%2f..%2fsigning.key",
        f"{base}/healthz",
        f"{base}/api/dev/token",
        f"HTTP://{host.upper()}/files/uploads/2026/01/01/{'a' * 32}.png/../../x",
        f"{base}/files/uploads/2026/01/01/{'a' * 32}.png\\..\\..\\x",
    ]


class _Recorder(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Recorder.hits.append(self.path)
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def redirector() -> Any:
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _generate(backend: EmbeddedBackend, token: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{backend.base_url}/api/mobile/generate-images",
        json=body,
        headers=bearer(token),
        timeout=30,
    )


def test_ssrf_attachment_urls_are_refused_without_any_fetch(
    backend_factory: BackendFactory, redirector: str
) -> None:
    backend = backend_factory(rate_limit_generate=10_000)
    token = token_for(backend.base_url, "attacker")
    urls = [*SSRF_URLS, *_store_lookalikes(backend.base_url), f"{redirector}/redirect.png"]
    for url in urls:
        for model in ("img-reve-edit", "img-nano-banana-edit"):  # sync and queued
            resp = _generate(
                backend,
                token,
                {"prompt": "a fox", "model": model, "attachmentImages": [{"url": url}]},
            )
            assert resp.status_code == 400, (url, resp.status_code, resp.text)
            assert_api_error(resp, 400)
    assert _Recorder.hits == []  # the redirecting server was never contacted
    assert local_jobs(backend) == []  # no provider job was created for any of them
    assert invariant_problems(backend, "attacker") == []


def _convex(backend: EmbeddedBackend, token: str, kind: str, path: str, args: dict) -> Any:
    resp = httpx.post(
        f"{backend.convex_url}/api/{kind}",
        json={"path": path, "args": args, "format": "json"},
        headers=bearer(token),
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_other_users_request_ids_and_sessions(backend: EmbeddedBackend) -> None:
    alice = token_for(backend.base_url, "alice")
    mallory = token_for(backend.base_url, "mallory")
    queued = _generate(backend, alice, {"prompt": "mine", "model": "img-nano-banana"}).json()
    request_id = queued["requestId"]
    params = {"requestId": request_id, "modelId": "img-nano-banana"}
    url = f"{backend.base_url}/api/generate-images/status"
    assert_api_error(httpx.get(url, params=params, headers=bearer(mallory)), 403)
    assert_api_error(httpx.get(url, params={**params, "wait": "1"}, headers=bearer(mallory)), 403)
    tampered = request_id[:-3] + ("AAA" if not request_id.endswith("AAA") else "BBB")
    assert_api_error(
        httpx.get(url, params={**params, "requestId": tampered}, headers=bearer(mallory)), 400
    )
    # Alice's own poll still works and finishes.
    done = httpx.get(url, params={**params, "wait": "10"}, headers=bearer(alice), timeout=30)
    assert done.json().get("success") is True

    session = _convex(
        backend, alice, "mutation", "sessions:createSession", {"title": "a", "type": "image"}
    )
    session_id = session["value"]
    gen = _convex(
        backend,
        alice,
        "mutation",
        "sessions:addGenerationToSession",
        {
            "sessionId": session_id,
            "prompt": "mine",
            "type": "image",
            "model": "img-nano-banana",
            "modelLabel": "Nano Banana",
            "aspectRatio": "1:1",
            "numImages": 1,
            "isLoading": False,
        },
    )["value"]
    slot = _convex(
        backend,
        alice,
        "mutation",
        "generations:acquireGenerationSlot",
        {"type": "image", "prompt": "p"},
    )["value"]
    attacks = [
        ("query", "sessions:getSessionGenerations", {"sessionId": session_id}),
        ("mutation", "sessions:updateGeneration", {"generationId": gen, "error": "pwned"}),
        ("mutation", "sessions:toggleFavorite", {"generationId": gen}),
        ("mutation", "sessions:deleteAssetMedia", {"generationId": gen}),
        (
            "mutation",
            "sessions:addGenerationToSession",
            {
                "sessionId": session_id,
                "prompt": "planted",
                "type": "image",
                "model": "img-nano-banana",
                "modelLabel": "x",
                "aspectRatio": "1:1",
                "numImages": 1,
                "isLoading": False,
            },
        ),
        (
            "mutation",
            "generations:updateGenerationStatus",
            {"generationId": slot["generationId"], "status": "failed"},
        ),
    ]
    for kind, path, args in attacks:
        answer = _convex(backend, mallory, kind, path, args)
        assert answer["status"] == "error", (path, answer)
        assert "mine" not in str(answer)
    # Alice's data is untouched.
    rows = _convex(
        backend, alice, "query", "sessions:getSessionGenerations", {"sessionId": session_id}
    )["value"]
    assert [r["prompt"] for r in rows] == ["mine"]
    assert "error" not in rows[0] or rows[0]["error"] is None
    sessions = _convex(backend, mallory, "query", "sessions:getUserSessions", {})["value"]
    assert sessions == []


async def test_rate_limit_burst_gives_429_and_creates_nothing(
    backend_factory: BackendFactory,
) -> None:
    backend = backend_factory(rate_limit_generate=3, rate_limit_presign=5)
    burst = token_for(backend.base_url, "burst")
    calm = token_for(backend.base_url, "calm")
    async with httpx.AsyncClient(timeout=30) as client:

        async def gen(token: str) -> httpx.Response:
            return await client.post(
                f"{backend.base_url}/api/mobile/generate-images",
                json={"prompt": "burst", "model": "img-nano-banana"},
                headers=bearer(token),
            )

        async def pre(token: str) -> httpx.Response:
            return await client.post(
                f"{backend.base_url}/api/mobile/r2-presign",
                json={"contentType": "image/png"},
                headers=bearer(token),
            )

        gens = await asyncio.gather(*(gen(burst) for _ in range(12)))
        pres = await asyncio.gather(*(pre(burst) for _ in range(15)))
        other = await gen(calm)
    assert sorted(r.status_code for r in gens) == [200] * 3 + [429] * 9
    assert sorted(r.status_code for r in pres) == [200] * 5 + [429] * 10
    for resp in [*gens, *pres]:
        if resp.status_code == 429:
            body = assert_api_error(resp, 429)
            assert int(resp.headers["Retry-After"]) >= 1
            assert "requestId" not in body and "uploadUrl" not in body
    assert other.status_code == 200  # one user's burst does not limit another
    burst_jobs = [j for j in local_jobs(backend) if j["prompt"] == "burst"]
    assert len(burst_jobs) == 4  # 3 of the burst + the calm user's one
