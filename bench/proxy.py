"""A loopback TCP proxy that adds latency (and optionally an uplink bandwidth) to requests.

Benchmarks put it between a client and the embedded backend so the product runs unchanged
while every request "travels" ``delay_s`` longer: each chunk the client sends is held for
``delay_s`` before it reaches the backend, so every request/response round trip grows by
exactly ``delay_s``, like a link with that much more latency. With ``uplink_bps`` the
client-to-server direction is also one shared link of that many bits per second, so large
uploads take as long as they would on a real connection; ``downlink_bps`` does the same for
the server-to-client direction (large downloads: images at their real sizes). Each direction
is one link shared by every connection, as a household line is.

The proxy runs in its own process (``python -m bench.proxy``): in a thread of the measured
process its timers would wait for the GIL behind the very code being measured. It streams
every request line it forwards back to the parent, with the moment it handed the request to
the backend (``time.monotonic()``, the same clock in both processes), which is how a
benchmark knows when "the backend received" a call; bytes are counted both ways.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from backend.runner import free_port

LOOPBACK = "127.0.0.1"
_METHODS = (b"GET ", b"POST ", b"PUT ", b"DELETE ", b"PATCH ", b"HEAD ", b"OPTIONS ")
_CHUNK = 64 * 1024
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class SeenRequest:
    at: float  # monotonic() when the request's first bytes were handed to the backend
    arrived: float  # monotonic() when the client sent them (before the added latency)
    method: str
    path: str  # without the query string
    query: str


@dataclass
class ProxyStats:
    bytes_up: int = 0  # client -> server
    bytes_down: int = 0  # server -> client
    requests: list[SeenRequest] = field(default_factory=list)

    def count(self, path_prefix: str, method: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if r.path.startswith(path_prefix) and (method is None or r.method == method)
        )

    def by_path(self) -> Counter[str]:
        return Counter(f"{r.method} {r.path}" for r in self.requests)


def _request_line(chunk: bytes) -> tuple[str, str, str] | None:
    """(method, path, query) when ``chunk`` starts an HTTP request (clients do not pipeline,
    so a new request always begins a fresh read)."""
    if not chunk.startswith(_METHODS):
        return None
    parts = chunk.split(b"\r\n", 1)[0].decode("latin-1", "replace").split(" ")
    if len(parts) < 2:
        return None
    path, _, query = parts[1].partition("?")
    return parts[0], path, query


# -- the proxy process ----------------------------------------------------------------------


class _ProxyServer:
    def __init__(
        self,
        target_port: int,
        delay_s: float,
        uplink_bps: float | None,
        downlink_bps: float | None = None,
    ) -> None:
        self.target_port = target_port
        self.delay_s = delay_s
        self.uplink_bps = uplink_bps
        self.downlink_bps = downlink_bps
        self.bytes_up = 0
        self.bytes_down = 0
        self._link_free_at = 0.0  # when the shared uplink has sent everything queued
        self._down_free_at = 0.0  # when the shared downlink has sent everything queued

    def _due(self, size: int, now: float) -> float:
        if self.uplink_bps:
            start = max(now, self._link_free_at)
            self._link_free_at = now = start + size * 8 / self.uplink_bps
        return now + self.delay_s

    async def handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(LOOPBACK, self.target_port)
        except OSError:
            client_w.close()
            return
        queue: asyncio.Queue[tuple[float, float, bytes] | None] = asyncio.Queue()
        tasks = [
            asyncio.create_task(self._read_up(client_r, queue)),
            asyncio.create_task(self._write_up(queue, server_w)),
            asyncio.create_task(self._pipe_down(server_r, client_w)),
        ]
        try:
            await asyncio.wait(tasks[1:], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for writer in (client_w, server_w):
                with contextlib.suppress(Exception):
                    writer.close()

    async def _read_up(
        self, reader: asyncio.StreamReader, queue: asyncio.Queue[tuple[float, float, bytes] | None]
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await reader.read(_CHUNK):
                arrived = time.monotonic()
                queue.put_nowait((self._due(len(chunk), arrived), arrived, chunk))
        queue.put_nowait(None)

    async def _write_up(
        self, queue: asyncio.Queue[tuple[float, float, bytes] | None], writer: asyncio.StreamWriter
    ) -> None:
        while (item := await queue.get()) is not None:
            due, arrived, chunk = item
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            seen = _request_line(chunk)
            if seen is not None:
                method, path, query = seen
                print(f"R {time.monotonic():.6f} {arrived:.6f} {method} {path} {query}", flush=True)
            self.bytes_up += len(chunk)
            writer.write(chunk)
            try:
                await writer.drain()
            except (ConnectionError, OSError):
                return
        # The client finished sending; keep the connection open for the answer.
        with contextlib.suppress(Exception):
            writer.write_eof()
        await asyncio.Event().wait()

    def _down_due(self, size: int, now: float) -> float:
        """When a chunk read now has crossed the shared downlink (now, without a limit)."""
        if not self.downlink_bps:
            return now
        start = max(now, self._down_free_at)
        self._down_free_at = start + size * 8 / self.downlink_bps
        return self._down_free_at

    async def _pipe_down(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await reader.read(_CHUNK):
                # The link time is booked when the chunk is read, so connections share the
                # downlink first come, first served, one chunk (~10 ms at 50 Mbit/s) at a time.
                wait = self._down_due(len(chunk), time.monotonic()) - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self.bytes_down += len(chunk)
                writer.write(chunk)
                await writer.drain()

    async def control(self) -> None:
        """Answer ``SYNC n`` lines on stdin with the byte counts, then ``S n``."""
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            word, _, arg = line.strip().partition(" ")
            if word == "SYNC":
                print(f"B {self.bytes_up} {self.bytes_down}", flush=True)
                print(f"S {arg}", flush=True)
        # stdin closed: the parent is gone or stopping us.


async def _serve(port: int, proxy: _ProxyServer) -> None:
    server = await asyncio.start_server(proxy.handle, LOOPBACK, port, backlog=4096)
    print(f"READY {port}", flush=True)
    async with server:
        await proxy.control()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy")
    parser.add_argument("--target-port", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-s", type=float, default=0.0)
    parser.add_argument("--uplink-bps", type=float, default=0.0)
    parser.add_argument("--downlink-bps", type=float, default=0.0)
    args = parser.parse_args(argv)
    proxy = _ProxyServer(
        args.target_port, args.delay_s, args.uplink_bps or None, args.downlink_bps or None
    )
    asyncio.run(_serve(args.port, proxy))
    return 0


# -- the parent's handle --------------------------------------------------------------------


class LatencyProxy:
    """Starts the proxy process and mirrors what it reports into ``stats``."""

    def __init__(
        self,
        target_port: int,
        *,
        delay_s: float = 0.0,
        uplink_bps: float | None = None,
        downlink_bps: float | None = None,
        port: int | None = None,
    ) -> None:
        self.target_port = target_port
        self.delay_s = delay_s
        self.uplink_bps = uplink_bps
        self.downlink_bps = downlink_bps
        self.port = port or free_port(LOOPBACK)
        self.stats = ProxyStats()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._ready = threading.Event()
        self._synced: dict[int, threading.Event] = {}
        self._sync_seq = 0
        # Byte totals of the process at the last reset_stats() (it counts from its start).
        self._base_up = 0
        self._base_down = 0

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 15.0) -> LatencyProxy:
        cmd = [
            sys.executable,
            "-m",
            "bench.proxy",
            f"--target-port={self.target_port}",
            f"--port={self.port}",
            f"--delay-s={self.delay_s}",
            f"--uplink-bps={self.uplink_bps or 0}",
            f"--downlink-bps={self.downlink_bps or 0}",
        ]
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            cwd=REPO_ROOT,
        )
        self._reader = threading.Thread(target=self._read, name="proxy-reader", daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise TimeoutError("the latency proxy did not start")
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        # SIGTERM first: the process has nothing to flush, and ending it before its stdin
        # closes spares the log its half-open connections being torn down one by one.
        proc.terminate()
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sync(self, timeout: float = 10.0) -> ProxyStats:
        """Bring ``stats`` up to date (every request line and byte so far) and return it."""
        assert self._proc is not None and self._proc.stdin is not None
        with self._lock:
            self._sync_seq += 1
            seq = self._sync_seq
            done = self._synced[seq] = threading.Event()
        self._proc.stdin.write(f"SYNC {seq}\n")
        self._proc.stdin.flush()
        if not done.wait(timeout):
            raise TimeoutError("the latency proxy did not answer")
        return self.stats

    def reset_stats(self) -> ProxyStats:
        """Start counting afresh; returns (synced) what was counted so far."""
        self.sync()
        with self._lock:
            old, self.stats = self.stats, ProxyStats()
            self._base_up += old.bytes_up
            self._base_down += old.bytes_down
        return old

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            kind, _, rest = line.rstrip("\n").partition(" ")
            if kind == "R":
                at, arrived, method, path, *query = rest.split(" ", 4)
                seen = SeenRequest(float(at), float(arrived), method, path, " ".join(query))
                with self._lock:
                    self.stats.requests.append(seen)
            elif kind == "B":
                up, down = (int(x) for x in rest.split())
                with self._lock:
                    self.stats.bytes_up = up - self._base_up
                    self.stats.bytes_down = down - self._base_down
            elif kind == "S":
                with self._lock:
                    event = self._synced.pop(int(rest), None)
                if event is not None:
                    event.set()
            elif kind == "READY":
                self._ready.set()


if __name__ == "__main__":
    sys.exit(main())
