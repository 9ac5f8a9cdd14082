"""FastAPI dependency: the verified caller, from ``Authorization: Bearer <JWT>``."""

from __future__ import annotations

from fastapi import Request

from backend.auth.identity import Identity
from backend.auth.verifier import JwtVerifier, unauthorized
from backend.errors import ApiError

# Clerk's and our own tokens are 1-3 KB. A longer one is refused before any parsing: a new
# token is verified on the event loop, and PyJWT checks every character in Python.
MAX_TOKEN_CHARS = 16_384


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise unauthorized("no Authorization header was sent.")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise unauthorized("the Authorization header must be 'Bearer <token>'.")
    if len(token) > MAX_TOKEN_CHARS:
        raise unauthorized("the token is too long to be one of ours.")
    return token


async def require_identity(request: Request) -> Identity:
    """The caller, from a token verified before (at once) or now (``verify_once``: in a
    worker thread, once per token)."""
    verifier: JwtVerifier | None = getattr(request.app.state, "verifier", None)
    if verifier is None:
        raise ApiError(503, "auth_not_configured", "Sign-in is not configured on this server.")
    return await verifier.verify_once(bearer_token(request))
