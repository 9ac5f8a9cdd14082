"""A fault-injecting HTTP/1.1 proxy on loopback, in front of a real backend.

Faults are injected on the wire, never by replacing our own components: the client talks
to the proxy, the proxy talks to the real backend, and a rule decides per request whether
to pass it through, answer with an error status, drop the connection before forwarding
(the server never sees the request) or after forwarding (the server did the work, the
client never hears the answer: the nastiest case for exactly-once bookkeeping).

Each client connection carries one request: the proxy forwards with ``Connection: close``
and passes the backend's answer (which then says ``connection: close``) back verbatim, so
no HTTP response parsing is needed and long polls stream through untouched.

    proxy = FaultProxy(upstream_port).start()      # a thread with its own event loop
    proxy.rule = fail_matching("/status", FaultAction.error(502), times=2)
    ... client uses proxy.base_url ...
    proxy.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from backend.runner import free_port
from bench.reliability.http_wire import parse_head, read_body

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class RequestInfo:
    method: str
    target: str  # path and query, as sent
    index: int  # 0-based count of requests seen by the proxy
    body: bytes = b""

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass(frozen=True)
class FaultAction:
    kind: str = "pass"  # pass | error | drop_before | drop_after | delay
    status: int = 502
    code: str = "proxy_fault"
    delay_s: float = 0.0

    @staticmethod
    def error(status: int = 502, code: str = "bad_gateway") -> FaultAction:
        return FaultAction("error", status=status, code=code)


PASS = FaultAction()
DROP_BEFORE = FaultAction("drop_before")
DROP_AFTER = FaultAction("drop_after")
Rule = Callable[[RequestInfo], FaultAction]


def always_pass(_: RequestInfo) -> FaultAction:
    return PASS


@dataclass
class CountingRule:
    """Apply ``action`` to the first ``times`` requests whose method+target match."""

    match: Callable[[RequestInfo], bool]
    action: FaultAction
    times: int = 1
    hits: int = 0
    seen: list[str] = field(default_factory=list)

    def __call__(self, info: RequestInfo) -> FaultAction:
        if self.hits < self.times and self.match(info):
            self.hits += 1
            self.seen.append(f"{info.method} {info.path}")
            return self.action
        return PASS


def fail_matching(
    fragment: str,
    action: FaultAction,
    times: int = 1,
    method: str | None = None,
    body_contains: str | None = None,
) -> CountingRule:
    """Fault the first ``times`` requests whose path contains ``fragment`` (and whose body
    contains ``body_contains``, e.g. a Convex function name)."""

    def match(info: RequestInfo) -> bool:
        if body_contains is not None and body_contains.encode() not in info.body:
            return False
        return fragment in info.path and (method is None or info.method == method)

    return CountingRule(match, action, times)


def _error_response(action: FaultAction) -> bytes:
    body = json.dumps(
        {"error": f"Injected fault: HTTP {action.status}.", "code": action.code}
    ).encode()
    head = (
        f"HTTP/1.1 {action.status} Injected\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


class FaultProxy:
    """The proxy; ``rule`` may be swapped at any time (reads are atomic)."""

    def __init__(self, upstream_port: int, port: int | None = None) -> None:
        self.upstream_port = upstream_port
        # Never the upstream's port: it was free (picked, not yet bound) a moment ago, and
        # the system may hand the same number out again.
        self.port = port or next(
            p for p in iter(lambda: free_port(LOOPBACK), 0) if p != upstream_port
        )
        self.rule: Rule = always_pass
        self.injected: list[str] = []  # "<kind> <method> <path>" per injected fault
        self.requests = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(
            asyncio.start_server(self._handle, LOOPBACK, self.port, reuse_address=True)
        )
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            # Connections still open when the test ends: cancel and await them, so none is
            # left to be garbage-collected mid-coroutine once the loop is gone.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve_one(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, OSError):
            pass  # a client or upstream going away is part of the game here
        except BaseException:
            # Cancelled, or closed with its loop (GeneratorExit): nothing may be awaited
            # any more (awaiting here made Python report "coroutine ignored GeneratorExit").
            writer.close()
            raise
        await _close(writer)

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line, headers, kept = parse_head(await reader.readuntil(b"\r\n\r\n"))
        method, target, _version = request_line.split(" ", 2)
        body = await read_body(reader, headers)
        info = RequestInfo(method, target, self.requests, body)
        self.requests += 1
        action = self.rule(info)
        if action.kind != "pass":
            self.injected.append(f"{action.kind} {method} {info.path}")
        if action.kind == "delay":
            await asyncio.sleep(action.delay_s)
        if action.kind == "error":
            writer.write(_error_response(action))
            await writer.drain()
            return
        if action.kind == "drop_before":
            return
        request = f"{method} {target} HTTP/1.1\r\n" + "\r\n".join(kept)
        head = request.encode("latin-1") + b"\r\nconnection: close\r\n\r\n"
        up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self.upstream_port)
        try:
            await _relay(head + body, action.kind == "drop_after", up_reader, up_writer, writer)
        except BaseException:
            up_writer.close()  # no await: see _handle
            raise
        await _close(up_writer)


async def _relay(
    request: bytes,
    drop_answer: bool,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
    writer: asyncio.StreamWriter,
) -> None:
    up_writer.write(request)
    await up_writer.drain()
    if drop_answer:
        # Let the backend finish the request, then lose its answer.
        await up_reader.read()
        return
    while chunk := await up_reader.read(65536):
        writer.write(chunk)
        await writer.drain()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
