"""One error type for every route, rendered as ``{"error": <sentence>, "code": <code>}``.

Routes raise :class:`ApiError`; the handlers installed by :func:`install_error_handlers`
turn it (and anything unexpected) into JSON so no client ever sees a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """What every error answer of the HTTP API carries (the OpenAPI document's schema)."""

    error: str = Field(description="A sentence a user can read.")
    code: str = Field(description="A stable machine code, e.g. invalid_request.")


# Why a route answers each status, as the OpenAPI document words it.
_ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The request is invalid (bad JSON, a rule of the model, a bad parameter).",
    401: "No token, or one that does not verify: sign in again.",
    402: "Not enough credits for this generation (needed and available say how many).",
    403: "Not allowed: another account's data, or a failed Turnstile check.",
    404: "The job or file does not exist.",
    409: "A repeated request still running, or a slot that has ended.",
    413: "The body or the upload is larger than allowed.",
    415: "The content type is not an allowed image type.",
    422: "The image provider rejected the request (for instance its content policy).",
    429: "Rate limited; Retry-After says when to try again.",
    502: "The image provider or a verification service failed or could not be reached.",
    503: "A required service (sign-in, rate limits, a provider) is not available.",
    504: "The image provider timed out.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status documented with the :class:`ErrorBody`."""
    return {
        status: {"model": ErrorBody, "description": _ERROR_DESCRIPTIONS[status]}
        for status in sorted(set(statuses))
    }


class ApiError(Exception):
    """An error a route answers with: a human sentence, a machine code and a status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        # Machine-readable details next to error and code (e.g. limit and active on a 429).
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {**self.extra, **error_body(self.message, self.code)}


def error_body(message: str, code: str) -> dict[str, str]:
    return {"error": message, "code": code}


def _describe_validation(exc: RequestValidationError) -> str:
    parts: list[str] = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        msg = str(err.get("msg", "is invalid"))
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "The request is invalid: " + "; ".join(parts) + "." if parts else "Invalid request."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body(_describe_validation(exc), "invalid_request"), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {
            404: "Not found.",
            405: "This method is not allowed here.",
        }.get(exc.status_code, str(exc.detail))
        # Keep Starlette's headers: a 405 must say which methods are allowed (``Allow``).
        headers = getattr(exc, "headers", None)
        return JSONResponse(error_body(message, code), exc.status_code, headers=headers)

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, _: ClientDisconnect) -> Response:
        # The client hung up while sending its body: nobody is left to answer and nothing
        # went wrong on our side, so this is neither a 500 nor worth more than a debug line.
        log.debug("client disconnected during %s %s", request.method, request.url.path)
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            error_body("Something went wrong on the server. Please try again.", "internal"), 500
        )
