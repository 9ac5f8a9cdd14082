"""Convex's HTTP function API: ``POST /api/query``, ``/api/mutation``, ``/api/action``.

Answers follow Convex (and what the official ``convex`` Python client expects): a
function's outcome is always HTTP 200 with ``{"status": "success", "value", "logLines"}``
or ``{"status": "error", "errorMessage", "errorData"?, "logLines"}``; a malformed request
or a bad token gets a 4xx with ``{"code", "message"}`` (plus ``error`` so it also reads as
one of our API errors). The app mounts this router under ``/convex``.

Bodies are parsed strictly (``capped_body.loads_strict``: no lone surrogates, NaN or bad
UTF-8), arguments are decoded within Convex's value limits (``values.py``), and mutations
are rate-limited per caller: 429 ``{"code": "RateLimited"}`` with Retry-After.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import require_identity
from backend.auth.identity import Identity
from backend.capped_body import JsonBodyError, loads_strict, read_capped
from backend.config import BackendConfig
from backend.convex_host.context import FunctionKind
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.errors import ConvexFunctionError, ConvexSystemError
from backend.convex_host.registry import encode_value, run_function
from backend.errors import ApiError
from backend.ratelimit import MemoryRateLimiter, RateLimiter
from backend.storage.offload import DatabaseCalls

log = logging.getLogger(__name__)

FORMATS = ("json", "convex_encoded_json")
# Convex caps function arguments at 16 MiB (docs.convex.dev/production/state/limits,
# "Function argument size"); anything bigger is refused before parsing.
MAX_BODY_BYTES = 16 * 1024 * 1024
_TOO_LARGE = ApiError(413, "TooLarge", "The request body is larger than 16 MiB.")
# Bodies larger than this are parsed in a worker thread, off the event loop.
_PARSE_INLINE_BYTES = 64 * 1024

# Mutations per caller per window. A generation takes up to ~8 mutations (slot, credits,
# session row, updates, capture, slot status), so the host allows 8x the app's generation
# rate limit, and never fewer than 120 a minute.
DEFAULT_MUTATION_LIMIT = 120
DEFAULT_WINDOW_S = 60.0
MUTATIONS_PER_GENERATION = 8


class _ConvexJSON(JSONResponse):
    """Always renderable: text that cannot be UTF-8 (a lone surrogate that reached a
    message) is sent escaped instead of failing the response with a 500."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


def _request_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return _ConvexJSON({"code": code, "message": message, "error": message}, status, headers)


async def _identity(request: Request) -> Identity | None:
    """No Authorization header means an anonymous call, as in Convex (our functions then
    refuse with "Not authenticated"); a header that does not verify is a 401."""
    if not request.headers.get("authorization"):
        return None
    return await require_identity(request)


def mutation_limit_for(config: BackendConfig | None) -> tuple[int, float]:
    """(mutations, window in seconds) allowed per caller."""
    if config is None:
        return DEFAULT_MUTATION_LIMIT, DEFAULT_WINDOW_S
    limit = max(DEFAULT_MUTATION_LIMIT, MUTATIONS_PER_GENERATION * config.rate_limit_generate)
    return limit, config.rate_limit_window_s


class _MutationLimit:
    def __init__(self, limiter: RateLimiter, limit: int, window_s: float) -> None:
        self.limiter = limiter
        self.limit = limit
        self.window_s = window_s

    async def hit(self, request: Request, identity: Identity | None) -> None:
        """Count one mutation; ApiError 429 (or 503 if the limiter is down) past the limit.
        Anonymous calls share one bucket per client address."""
        if identity is not None:
            who = f"user:{identity.user_id}"
        else:
            who = f"anon:{request.client.host if request.client else '?'}"
        await self.limiter.hit(f"convex-mutation:{who}", self.limit, self.window_s)


async def _parse(raw: bytes) -> Any:
    if len(raw) > _PARSE_INLINE_BYTES:
        return await run_in_threadpool(loads_strict, raw)
    return loads_strict(raw)


def _api_error(exc: ApiError) -> JSONResponse:
    code = "RateLimited" if exc.status == 429 else exc.code
    return _request_error(exc.status, code, exc.message, exc.headers)


def _handler(db: ConvexDatabase, kind: FunctionKind, limit: _MutationLimit) -> Any:
    call = DatabaseCalls(db.engine)

    async def handle(request: Request) -> JSONResponse:
        # Counted while it streams: a huge (or chunked, or lying) body is refused at the
        # cap instead of being held in memory whole first.
        try:
            raw = await read_capped(request, MAX_BODY_BYTES, _TOO_LARGE)
            identity = await _identity(request)
            if kind == "mutation":
                await limit.hit(request, identity)
        except ApiError as exc:
            return _api_error(exc)
        try:
            body = await _parse(raw)
        except JsonBodyError as exc:
            return _request_error(400, "BadJsonBody", exc.message)
        if not isinstance(body, dict) or not isinstance(body.get("path"), str):
            return _request_error(
                400, "BadJsonBody", "The request body must be {path, args, format}."
            )
        fmt = body.get("format", "json")
        if fmt not in FORMATS:
            shown = fmt if isinstance(fmt, str | int | float | bool | None) else type(fmt)
            return _request_error(
                400, "BadRequest", f'Unsupported value format {str(shown)[:40]!r}; use "json".'
            )
        try:
            # Inline on SQLite, a worker thread on PostgreSQL (storage/offload.py).
            value = await call(run_function, db, kind, body["path"], body.get("args"), identity)
            return _ConvexJSON({"status": "success", "value": encode_value(value), "logLines": []})
        except ApiError as exc:
            return _api_error(exc)
        except ConvexFunctionError as exc:
            return _ConvexJSON(
                {
                    "status": "error",
                    "errorMessage": exc.message,
                    "errorData": encode_value(exc.data),
                    "logLines": [],
                }
            )
        except ConvexSystemError as exc:
            return _ConvexJSON({"status": "error", "errorMessage": exc.message, "logLines": []})
        except OperationalError:
            # SQLite's "database is locked" past the busy timeout, a PostgreSQL deadlock
            # or lost connection: a retry will do.
            log.warning("Convex function %.80r: the database is busy", body.get("path"))
            return _request_error(
                503,
                "Unavailable",
                "The Convex host is busy; please try again.",
                {"Retry-After": "1"},
            )
        except Exception:
            log.exception("Convex function %.80r failed", body.get("path"))
            return _request_error(
                500, "InternalServerError", "The Convex host failed; please try again."
            )

    handle.__name__ = f"convex_{kind}"
    return handle


def build_convex_router(
    db: ConvexDatabase,
    limiter: RateLimiter | None = None,
    config: BackendConfig | None = None,
    *,
    mutation_limit: int | None = None,
    window_s: float | None = None,
    prefix: str = "",
) -> APIRouter:
    """The three routes (under ``prefix``). ``limiter`` is the app's (memory or Redis) rate
    limiter, else one of the router's own; the mutation limit comes from ``config`` unless
    given."""
    default_limit, default_window = mutation_limit_for(config)
    limit = _MutationLimit(
        limiter if limiter is not None else MemoryRateLimiter(),
        mutation_limit if mutation_limit is not None else default_limit,
        window_s if window_s is not None else default_window,
    )
    router = APIRouter(prefix=prefix)
    kinds: tuple[FunctionKind, ...] = ("query", "mutation", "action")
    for kind in kinds:
        router.add_api_route(
            f"/api/{kind}",
            _handler(db, kind, limit),
            methods=["POST"],
            include_in_schema=False,
            name=f"convex_{kind}",
        )
    return router
