"""The bits of HTTP/1.1 both test proxies (the fault proxy and the round-robin) read
off the wire themselves: a request or response head, and a body as framed."""

from __future__ import annotations

import asyncio

MAX_HEAD_BYTES = 64 * 1024
HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection")


def parse_head(head: bytes) -> tuple[str, dict[str, str], list[str]]:
    """The first line, the headers (lower-case names) and the header lines to forward
    (hop-by-hop ones left out). A head over ``MAX_HEAD_BYTES`` is a ValueError."""
    if len(head) > MAX_HEAD_BYTES:
        raise ValueError("head too large")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    kept: list[str] = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
        if name.strip().lower() not in HOP_BY_HOP:
            kept.append(line)
    return lines[0], headers, kept


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    """The body as it came: a chunked one keeps its chunk framing (no trailers expected)."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out = bytearray()
        while True:
            size_line = await reader.readline()
            out += size_line
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                out += await reader.readline()  # the trailing CRLF
                return bytes(out)
            out += await reader.readexactly(size + 2)
    length = int(headers.get("content-length", "0") or 0)
    return await reader.readexactly(length) if length else b""
