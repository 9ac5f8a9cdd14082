"""Backend: 2,000 concurrent long polls held by one process, and plain status throughput.

The backend runs alone in a subprocess (:mod:`bench.backend_server`) so its resident memory
is its own (read from /proc, no psutil). Each long poll waits on its own queued job (jobs
stay queued for an hour). The client speaks raw HTTP/1.1 over asyncio streams: it is cheap,
so on two cores it takes as little CPU from the server as possible.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlencode

from bench.clients import QUEUED_MODEL
from bench.harness import Result, rss_mb
from bench.proxy import REPO_ROOT

HOST = "127.0.0.1"
TARGET_RSS_MB = 250.0


class RawHttp:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> RawHttp:
        reader, writer = await asyncio.open_connection(HOST, port)
        return cls(reader, writer)

    def send(self, method: str, path: str, token: str, body: bytes = b"") -> None:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)

    async def response(self) -> tuple[int, bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def call(
        self, method: str, path: str, token: str, body: bytes = b""
    ) -> tuple[int, bytes]:
        self.send(method, path, token, body)
        return await self.response()

    def close(self) -> None:
        self.writer.close()


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks


def _hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _settle(pid: int, limit_s: float = 120.0) -> None:
    """Wait until the server is idle (all polls parked): under 5% CPU for 0.3 s."""
    deadline = time.monotonic() + limit_s
    last = _cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        now = _cpu_seconds(pid)
        if now - last < 0.015:
            return
        last = now


def _status_path(request_id: str, wait: float | None = None) -> str:
    params = {"requestId": request_id, "modelId": QUEUED_MODEL}
    if wait is not None:
        params["wait"] = f"{wait:g}"
    return "/api/generate-images/status?" + urlencode(params)


async def _make_jobs(port: int, token: str, count: int, workers: int = 8) -> list[str]:
    body = json.dumps({"prompt": "held long poll", "model": QUEUED_MODEL}).encode()
    ids: list[str] = []

    async def worker(n: int) -> None:
        conn = await RawHttp.open(port)
        for _ in range(n):
            status, data = await conn.call("POST", "/api/mobile/generate-images", token, body)
            if status != 200:
                raise RuntimeError(f"generate answered {status}: {data[:200]!r}")
            ids.append(json.loads(data)["requestId"])
        conn.close()

    share = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    await asyncio.gather(*(worker(n) for n in share if n))
    return ids


async def _hold(port: int, pid: int, token: str, ids: list[str]) -> tuple[float, float, int, float]:
    """Open one long poll per job; (RSS MiB, peak MiB, answered early, probe latency ms)."""
    conns: list[RawHttp] = []
    for start in range(0, len(ids), 100):
        batch = await asyncio.gather(*(RawHttp.open(port) for _ in ids[start : start + 100]))
        for conn, request_id in zip(batch, ids[start : start + 100], strict=True):
            conn.send("GET", _status_path(request_id, wait=600), token)
        conns.extend(batch)
    answers = [asyncio.create_task(c.response()) for c in conns]
    await _settle(pid)
    rss, peak = rss_mb(pid), _hwm_mb(pid)
    answered = sum(1 for a in answers if a.done())
    # While all of them are held, a plain request still gets a quick answer.
    probe = await RawHttp.open(port)
    t0 = time.monotonic()
    status, _ = await probe.call("GET", _status_path(ids[0]), token)
    probe_ms = (time.monotonic() - t0) * 1000
    probe.close()
    assert status == 200
    for task in answers:
        task.cancel()
    for conn in conns:
        conn.close()
    return rss, peak, answered, probe_ms


async def _throughput(
    port: int, token: str, request_id: str, seconds: float, conns: int = 16
) -> float:
    stop = time.monotonic() + seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        conn = await RawHttp.open(port)
        path = _status_path(request_id)
        while time.monotonic() < stop:
            status, _ = await conn.call("GET", path, token)
            if status != 200:
                raise RuntimeError(f"status answered {status}")
            done += 1
        conn.close()

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(conns)))
    return done / (time.monotonic() - t0)


async def _measure(port: int, pid: int, polls: int, seconds: float) -> dict[str, float]:
    conn = await RawHttp.open(port)
    _status, data = await conn.call("POST", "/api/dev/token", "", b'{"userId": "bench-polls"}')
    conn.close()
    token = json.loads(data)["token"]
    ids = await _make_jobs(port, token, polls)
    await _settle(pid)
    idle_rss = rss_mb(pid)
    rss, peak, answered, probe_ms = await _hold(port, pid, token, ids)
    await _settle(pid)
    rps = await _throughput(port, token, ids[0], seconds)
    return {
        "idle": idle_rss,
        "rss": rss,
        "peak": peak,
        "answered": answered,
        "probe_ms": probe_ms,
        "rps": rps,
    }


def run(smoke: bool = False) -> list[Result]:
    polls, seconds = (50, 0.5) if smoke else (2000, 5.0)
    with tempfile.TemporaryDirectory(prefix="bench-backend-") as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.backend_server", tmp],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.startswith("READY "):
                raise RuntimeError(f"the backend process did not start: {line!r}")
            port = int(line.split()[1])
            m = asyncio.run(_measure(port, proc.pid, polls, seconds))
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    held = polls - int(m["answered"])
    return [
        Result(
            name=f"Backend RSS, {polls} long polls held",
            ours=m["rss"],
            reference=None,
            unit="MiB",
            target=f"<= {TARGET_RSS_MB:.0f} MiB",
            passed=held == polls and m["rss"] <= TARGET_RSS_MB,
            note=f"idle {m['idle']:.0f} MiB, peak {m['peak']:.0f} MiB; {held} held; a plain "
            f"status call meanwhile took {m['probe_ms']:.0f} ms",
        ),
        Result(
            name="Backend plain status throughput",
            ours=m["rps"],
            reference=None,
            unit="req/s",
            target="reported",
            passed=None,
            note="16 keep-alive connections, one process (uvicorn + h11)",
        ),
    ]
