"""Convex's HTTP function API: ``POST /api/query``, ``/api/mutation``, ``/api/action``.

Answers follow Convex (and what the official ``convex`` Python client expects): a
function's outcome is always HTTP 200 with ``{"status": "success", "value", "logLines"}``
or ``{"status": "error", "errorMessage", "errorData"?, "logLines"}``; a malformed request
or a bad token gets a 4xx with ``{"code", "message"}`` (plus ``error`` so it also reads as
one of our API errors). The app mounts this router under ``/convex``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import require_identity
from backend.auth.identity import Identity
from backend.capped_body import read_capped
from backend.convex_host.context import FunctionKind
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.errors import ConvexFunctionError, ConvexSystemError
from backend.convex_host.registry import encode_value, run_function
from backend.errors import ApiError

log = logging.getLogger(__name__)

FORMATS = ("json", "convex_encoded_json")
# Convex caps function arguments at 16 MiB; anything bigger is refused before parsing.
MAX_BODY_BYTES = 16 * 1024 * 1024
_TOO_LARGE = ApiError(413, "TooLarge", "The request body is larger than 16 MiB.")


def _request_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "error": message}, status)


def _identity(request: Request) -> Identity | None:
    """No Authorization header means an anonymous call, as in Convex (our functions then
    refuse with "Not authenticated"); a header that does not verify is a 401."""
    if not request.headers.get("authorization"):
        return None
    return require_identity(request)


def _call(db: ConvexDatabase, kind: FunctionKind, request: Request, body: dict[str, Any]) -> Any:
    # Runs in a worker thread: token verification may fetch a JWKS and a mutation may wait
    # for SQLite's write lock; neither may block the event loop.
    identity = _identity(request)
    return run_function(db, kind, body["path"], body.get("args"), identity)


def _handler(db: ConvexDatabase, kind: FunctionKind) -> Any:
    async def handle(request: Request) -> JSONResponse:
        # Counted while it streams: a huge (or chunked, or lying) body is refused at the
        # cap instead of being held in memory whole first.
        try:
            raw = await read_capped(request, MAX_BODY_BYTES, _TOO_LARGE)
        except ApiError:
            return _request_error(413, "TooLarge", "The request body is larger than 16 MiB.")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: a "[[[[..." nesting bomb is malformed input, not a crash.
            return _request_error(400, "BadJsonBody", "The request body is not valid JSON.")
        if not isinstance(body, dict) or not isinstance(body.get("path"), str):
            return _request_error(
                400, "BadJsonBody", "The request body must be {path, args, format}."
            )
        fmt = body.get("format", "json")
        if fmt not in FORMATS:
            return _request_error(
                400, "BadRequest", f'Unsupported value format {fmt!r}; use "json".'
            )
        try:
            value = await run_in_threadpool(_call, db, kind, request, body)
        except ApiError as exc:
            return JSONResponse(
                {"code": exc.code, "message": exc.message, "error": exc.message},
                exc.status,
                headers=exc.headers,
            )
        except ConvexFunctionError as exc:
            return JSONResponse(
                {
                    "status": "error",
                    "errorMessage": exc.message,
                    "errorData": encode_value(exc.data),
                    "logLines": [],
                }
            )
        except ConvexSystemError as exc:
            return JSONResponse({"status": "error", "errorMessage": exc.message, "logLines": []})
        except Exception:
            log.exception("Convex function %s failed", body.get("path"))
            return _request_error(
                500, "InternalServerError", "The Convex host failed; please try again."
            )
        return JSONResponse({"status": "success", "value": encode_value(value), "logLines": []})

    handle.__name__ = f"convex_{kind}"
    return handle


def build_convex_router(db: ConvexDatabase) -> APIRouter:
    router = APIRouter()
    kinds: tuple[FunctionKind, ...] = ("query", "mutation", "action")
    for kind in kinds:
        router.add_api_route(
            f"/api/{kind}",
            _handler(db, kind),
            methods=["POST"],
            include_in_schema=False,
            name=f"convex_{kind}",
        )
    return router
