"""Reading a request body with a byte cap, refusing as soon as it is known to be too big."""

from __future__ import annotations

from fastapi import Request

from backend.errors import ApiError


async def read_capped(request: Request, limit: int, too_large: ApiError) -> bytes:
    """The whole body, or ``too_large`` raised once it passes ``limit`` bytes.

    Content-Length is checked up front, and the stream is counted too: a chunked body has
    no Content-Length, and a lying one must not get more than ``limit`` bytes in memory.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
