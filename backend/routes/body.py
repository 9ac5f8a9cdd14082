"""Reading JSON request bodies with a size cap, so bad input is a 400/413, never a 500."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from backend.capped_body import JsonBodyError, loads_strict, read_capped
from backend.errors import ApiError

MAX_JSON_BODY_BYTES = 1024 * 1024  # generation and presign bodies are a few KB at most


def body_too_large(limit: int = MAX_JSON_BODY_BYTES) -> ApiError:
    return ApiError(
        413, "too_large", f"The request body is larger than the {limit // 1024} KB allowed."
    )


async def read_json_object(
    request: Request, *, limit: int = MAX_JSON_BODY_BYTES, allow_empty: bool = False
) -> dict[str, Any]:
    """The body as a JSON object; 413 past ``limit`` bytes, 400 for anything not an object.

    Parsed strictly (``loads_strict``): bad UTF-8, lone surrogates (``"\\ud800"``), NaN and
    Infinity are a 400 here, so no route ever stores or echoes text it cannot encode.
    """
    raw = await read_capped(request, limit, body_too_large(limit))
    if not raw.strip():
        if allow_empty:
            return {}
        raise ApiError(400, "invalid_json", "The request body is empty; send a JSON object.")
    try:
        data = loads_strict(raw)
    except JsonBodyError as exc:
        raise ApiError(400, "invalid_json", exc.message) from exc
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    return data
