"""A loopback round-robin load balancer in front of several server processes.

    python -m bench.reliability.round_robin --port LB --upstream 8001,8002,8003

Clients keep their connections (HTTP/1.1 keep-alive, as behind a real balancer); each
request on one goes to the next upstream, on a connection of its own with
``Connection: close``, and that upstream's answer is streamed back as it comes (sized or
chunked; one delimited only by the end of the connection closes the client's too), so
long polls pass through untouched. An upstream that
refuses the connection (a killed process) is skipped for the next one, as a real load
balancer's "next upstream on connect error" does: the request was never sent, so trying
elsewhere cannot run it twice. ``GET /_lb/stats`` answers the balancer's own counts
(requests sent to each upstream, refused connects), so a test can prove the spread.

It runs in its own process so its CPU is not the load generator's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
import sys
from collections import Counter

from bench.reliability.http_wire import parse_head, read_body

LOOPBACK = "127.0.0.1"
STATS_PATH = "/_lb/stats"


def _answer(status: int, body: dict[str, object]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status} LB\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + data


class RoundRobin:
    def __init__(self, upstreams: list[int]) -> None:
        self.upstreams = upstreams
        self._next = itertools.cycle(range(len(upstreams)))
        self.sent: Counter[int] = Counter()
        self.refused: Counter[int] = Counter()

    def stats(self) -> dict[str, object]:
        return {
            "sent": {str(p): self.sent[p] for p in self.upstreams},
            "refused": {str(p): self.refused[p] for p in self.upstreams},
        }

    async def _connect(self) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in self.upstreams:
            port = self.upstreams[next(self._next)]
            try:
                reader, writer = await asyncio.open_connection(LOOPBACK, port)
            except OSError:
                self.refused[port] += 1
                continue
            return port, reader, writer
        return None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client connection: requests one after another while both sides keep it."""
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the client closed between requests
                if not await self._serve_one(head, reader, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client or an upstream going away mid-request: nothing to answer
        except ValueError:
            with contextlib.suppress(ConnectionError):
                writer.write(_answer(400, {"error": "Bad request.", "code": "bad_request"}))
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_one(
        self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Forward one request; True if the client connection may carry another."""
        request_line, headers, kept = parse_head(head)
        method, target, _version = request_line.split(" ", 2)
        body = await read_body(reader, headers)
        keep_alive = headers.get("connection", "").lower() != "close"
        if target == STATS_PATH:
            writer.write(_answer(200, self.stats()))
            await writer.drain()
            return False
        picked = await self._connect()
        if picked is None:
            writer.write(
                _answer(502, {"error": "No server process is reachable.", "code": "bad_gateway"})
            )
            await writer.drain()
            return False
        port, up_reader, up_writer = picked
        self.sent[port] += 1
        try:
            request = f"{method} {target} HTTP/1.1\r\n" + "\r\n".join(kept)
            up_writer.write(request.encode("latin-1") + b"\r\nconnection: close\r\n\r\n" + body)
            await up_writer.drain()
            status_line, up_headers, up_kept = parse_head(await up_reader.readuntil(b"\r\n\r\n"))
            status = int(status_line.split(" ", 2)[1])
            framed = (
                method == "HEAD"
                or status in (204, 304)
                or status < 200
                or "content-length" in up_headers
                or up_headers.get("transfer-encoding", "").lower() == "chunked"
            )
            keep_alive = keep_alive and framed  # else the body ends when the connection does
            closing = [] if keep_alive else ["connection: close"]
            out = "\r\n".join([status_line, *up_kept, *closing]) + "\r\n\r\n"
            writer.write(out.encode("latin-1"))
            if method != "HEAD" and status not in (204, 304) and status >= 200:
                await _copy_body(up_reader, writer, up_headers)
            await writer.drain()
            return keep_alive
        finally:
            up_writer.close()
            with contextlib.suppress(Exception):
                await up_writer.wait_closed()


async def _copy_body(
    src: asyncio.StreamReader, dst: asyncio.StreamWriter, headers: dict[str, str]
) -> None:
    """A response body as it arrives (chunked, sized, or up to the end of the connection)."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size_line = await src.readline()
            dst.write(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                dst.write(await src.readline())
                return
            dst.write(await src.readexactly(size + 2))
            await dst.drain()
    if "content-length" in headers:
        left = int(headers["content-length"])
        while left > 0:
            chunk = await src.read(min(left, 65536))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", left)
            left -= len(chunk)
            dst.write(chunk)
            await dst.drain()
        return
    while chunk := await src.read(65536):
        dst.write(chunk)
        await dst.drain()


async def serve(port: int, upstreams: list[int]) -> None:
    balancer = RoundRobin(upstreams)
    server = await asyncio.start_server(
        balancer.handle, LOOPBACK, port, reuse_address=True, backlog=1024
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"ready http://{LOOPBACK}:{port}", flush=True)
    async with server:
        await stop.wait()
    # Connections still streaming (long polls) end with the balancer.
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability.round_robin")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="comma-separated loopback ports")
    args = parser.parse_args(argv)
    upstreams = [int(p) for p in args.upstream.split(",") if p.strip()]
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, upstreams))
    return 0


if __name__ == "__main__":
    sys.exit(main())
