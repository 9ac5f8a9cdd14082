"""Embedded mode only: the backend's own JWKS and short-lived tokens for the local user.

These routes are what Clerk provides in a real deployment; they are not even registered
when the backend runs with Clerk, so there they answer 404.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Request

from backend.auth.dev_keys import DevKeyPair
from backend.errors import ApiError, error_responses
from backend.openapi import ok, request_body
from backend.routes.body import read_json_object
from backend.routes.common import config_of
from backend.routes.schemas import DevTokenBody, DevTokenResult, Jwks

_USER_ID = re.compile(r"^[A-Za-z0-9_.@:+-]{1,128}$")


def build_dev_router(keys: DevKeyPair) -> APIRouter:
    router = APIRouter(tags=["embedded auth"])

    @router.get(
        "/.well-known/jwks.json",
        summary="Public keys of the embedded backend",
        response_model=None,
        responses=ok(Jwks, "The JWKS that verifies the embedded backend's tokens."),
    )
    async def jwks() -> dict[str, Any]:
        return keys.jwks()

    @router.post(
        "/api/dev/token",
        summary="A short-lived token for a local user (embedded mode only)",
        description='Body `{"userId"?}` -> `{"token", "expiresIn"}`.',
        response_model=None,
        responses={**ok(DevTokenResult, "A signed RS256 token."), **error_responses(400, 413)},
        openapi_extra=request_body(DevTokenBody, required=False),
    )
    async def dev_token(request: Request) -> dict[str, Any]:
        config = config_of(request)
        body = await read_json_object(request, limit=4096, allow_empty=True)
        user_id = body.get("userId")
        if user_id is None:
            user_id = config.dev_user_id
        if not isinstance(user_id, str) or not _USER_ID.match(user_id):
            raise ApiError(
                400,
                "invalid_request",
                "userId must be 1 to 128 letters, digits or the characters _ . @ : + -.",
            )
        ttl = config.dev_token_ttl_s
        # An RS256 signature is ~0.8 ms of CPU in OpenSSL, which lets go of the GIL: in a
        # worker thread it no longer holds up the loop (every user's first call is one).
        token = await asyncio.to_thread(keys.issue_token, user_id, ttl)
        return {"token": token, "expiresIn": ttl}

    return router
