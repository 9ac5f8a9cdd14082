"""The browser half of a Clerk OAuth sign-in: a one-shot loopback listener and the browser.

The desktop receives Clerk's redirect on ``http://127.0.0.1:<random port>/clerk-callback/
<random path>``: the listener answers only that path, only once, and only on the loopback
interface, then stops. The callback carries Clerk's ``rotating_token_nonce`` (or an error);
the sign-in is completed with it by :mod:`gui.engine.clerk_sign_in`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import secrets
import webbrowser
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

PAGE = (
    "<!doctype html><meta charset=utf-8><title>imagegen</title>"
    "<body style='font-family:sans-serif;margin:3em'><h2>{title}</h2><p>{text}</p></body>"
)
DONE = PAGE.format(title="Signed in", text="You can close this window and return to imagegen.")
FAILED = PAGE.format(title="Sign-in did not finish", text="Return to imagegen to try again.")
MAX_REQUEST_BYTES = 16_384


class LoopbackCallback:
    """Listens on 127.0.0.1 for one request to its random path; ``wait()`` returns its
    query parameters (first value of each)."""

    def __init__(self) -> None:
        self._path = "/clerk-callback/" + secrets.token_urlsafe(16)
        self._result: asyncio.Future[dict[str, str]] | None = None
        self._server: asyncio.Server | None = None
        self.redirect_url = ""

    async def start(self) -> str:
        self._result = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_server(self._handle, host="127.0.0.1", port=0)
        port = self._server.sockets[0].getsockname()[1]
        self.redirect_url = f"http://127.0.0.1:{port}{self._path}"
        return self.redirect_url

    async def wait(self, timeout_s: float) -> dict[str, str]:
        assert self._result is not None, "start() first"
        try:
            return await asyncio.wait_for(asyncio.shield(self._result), timeout_s)
        finally:
            await self.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            request_line = head[:MAX_REQUEST_BYTES].split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _ = [*request_line.split(" "), "", ""][:3]
            parts = urlsplit(target)
            if method != "GET" or parts.path != self._path or self._result is None:
                await _answer(writer, 404, "Not found.")
                return
            params = {k: v[0] for k, v in parse_qs(parts.query).items() if v}
            failed = "error" in params or "__clerk_error_code" in params
            await _answer(writer, 200, FAILED if failed else DONE, html=True)
            if not self._result.done():
                self._result.set_result(params)
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ConnectionError,
            ValueError,
        ):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _answer(writer: asyncio.StreamWriter, status: int, body: str, html: bool = False) -> None:
    data = body.encode()
    kind = "text/html; charset=utf-8" if html else "text/plain; charset=utf-8"
    reason = "OK" if status == 200 else "Not Found"
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {len(data)}\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode()
        + data
    )
    await writer.drain()


async def open_in_browser(open_browser: Callable[[str], object] | None, url: str) -> None:
    """Open ``url`` with ``open_browser`` (default: the system browser) off the event loop,
    so a blocking opener never stalls the listener; an awaitable result is awaited."""
    opener = open_browser or webbrowser.open
    result = await asyncio.to_thread(opener, url)
    if inspect.isawaitable(result):
        await result
