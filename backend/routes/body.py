"""Reading JSON request bodies with a size cap, so bad input is a 400/413, never a 500."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from backend.capped_body import read_capped
from backend.errors import ApiError

MAX_JSON_BODY_BYTES = 1024 * 1024  # generation and presign bodies are a few KB at most


def body_too_large(limit: int = MAX_JSON_BODY_BYTES) -> ApiError:
    return ApiError(
        413, "too_large", f"The request body is larger than the {limit // 1024} KB allowed."
    )


async def read_json_object(
    request: Request, *, limit: int = MAX_JSON_BODY_BYTES, allow_empty: bool = False
) -> dict[str, Any]:
    """The body as a JSON object; 413 past ``limit`` bytes, 400 for anything not an object."""
    raw = await read_capped(request, limit, body_too_large(limit))
    if not raw.strip():
        if allow_empty:
            return {}
        raise ApiError(400, "invalid_json", "The request body is empty; send a JSON object.")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad UTF-8 and bad JSON; RecursionError covers [[[[...]]]] bombs.
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    return data
