"""Reading a request body with a byte cap, and parsing it as strict JSON.

Every JSON route (``routes/body.py``) and the Convex host (``convex_host/router.py``) read
bodies through here, so a bad body is one 400/413 sentence everywhere, never a 500.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

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


class JsonBodyError(ValueError):
    """Why a body is not acceptable JSON, as a sentence a client can show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


NOT_JSON = "The request body is not valid JSON."
LONE_SURROGATE = (
    "The request body is not valid JSON text: it contains an unpaired UTF-16 surrogate "
    "(such as \\ud800); strings must be valid Unicode."
)
NOT_FINITE = (
    "The request body is not valid JSON: numbers must be finite (NaN, Infinity and "
    "out-of-range numbers like 1e400 are not JSON)."
)

# Only a \uD800-\uDFFF escape can smuggle a surrogate past a strict UTF-8 decode; bodies
# without one (nearly all) skip the walk below.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _reject_constant(name: str) -> Any:
    raise JsonBodyError(NOT_FINITE)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonBodyError(NOT_FINITE)
    return value


def _has_lone_surrogate(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def find_lone_surrogate(value: Any) -> bool:
    """Whether any string or key in a parsed JSON value holds an unpaired surrogate.
    Iterative: a value nested as deep as the parser allows cannot overflow the stack."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _has_lone_surrogate(item):
                return True
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, val in item.items():
                if isinstance(key, str) and _has_lone_surrogate(key):
                    return True
                stack.append(val)
    return False


def loads_strict(raw: bytes) -> Any:
    """``raw`` parsed as RFC 8259 JSON, or :class:`JsonBodyError` with a sentence.

    Stricter than ``json.loads`` where that would let bad text in: the bytes must decode
    without errors (``json.loads`` itself lets surrogates through with "surrogatepass"),
    escaped lone surrogates (``"\\ud800"``) are refused, and so are ``NaN``, ``Infinity``
    and numbers too large for a double. Nesting bombs are a RecursionError in the parser,
    answered as bad JSON. A string with a lone surrogate can be neither stored (SQLite
    wants UTF-8) nor answered (responses are UTF-8), so it must stop here.
    """
    try:
        text = raw.decode(json.detect_encoding(raw))
    except (UnicodeDecodeError, LookupError) as exc:
        raise JsonBodyError(
            "The request body is not valid JSON: it is not valid UTF-8 text."
        ) from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except JsonBodyError:
        raise
    except (ValueError, RecursionError) as exc:
        # ValueError also covers integers longer than Python's 4300-digit limit.
        raise JsonBodyError(NOT_JSON) from exc
    if _SURROGATE_ESCAPE.search(text) is not None and find_lone_surrogate(data):
        raise JsonBodyError(LONE_SURROGATE)
    return data
