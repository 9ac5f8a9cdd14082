"""POST /api/mobile/r2-presign and POST /api/r2-presign (web, Turnstile).

Body ``{contentType, size?}`` -> ``{uploadUrl, publicUrl, key, expiresIn}``. The key is
made by the server; the URL is bound to the content type, the size cap and an expiry.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from backend.auth.deps import require_identity
from backend.auth.identity import Identity
from backend.errors import ApiError, error_responses
from backend.openapi import BEARER, ok, request_body
from backend.routes.body import read_json_object
from backend.routes.common import client_ip, config_of, rate_limit
from backend.routes.schemas import PresignBody, PresignResult, PresignWebBody
from backend.store.base import ALLOWED_CONTENT_TYPES, new_key
from backend.turnstile import verify_turnstile

router = APIRouter(tags=["uploads"])

UPLOAD_PREFIX = "uploads"
_DESCRIPTION = (
    "Body `{contentType, size?}`; answers `{uploadUrl, publicUrl, key, expiresIn}`. "
    "PUT the bytes to `uploadUrl` with the same Content-Type."
)


def _content_type(body: dict[str, Any]) -> str:
    raw = body.get("contentType")
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError(400, "invalid_request", 'contentType is required, e.g. "image/png".')
    content_type = raw.split(";")[0].strip().lower()
    if content_type not in ALLOWED_CONTENT_TYPES:
        allowed = ", ".join(sorted(ALLOWED_CONTENT_TYPES))
        shown = content_type if len(content_type) <= 60 else content_type[:57] + "..."
        raise ApiError(415, "unsupported_type", f"Images must be one of: {allowed} (got {shown}).")
    return content_type


def _check_size(body: dict[str, Any], max_bytes: int) -> int | None:
    """The declared size in bytes (None when absent); 400 when malformed, 413 over the cap."""
    size = body.get("size")
    if size is None:
        return None
    # 1234.0 is a whole number too (JSON Schema's "integer" allows it; so do we).
    if isinstance(size, float) and size.is_integer():
        size = int(size)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ApiError(400, "invalid_request", "size must be a whole number of bytes.")
    if size > max_bytes:
        mb = max_bytes / (1024 * 1024)
        raise ApiError(413, "too_large", f"Images can be at most {mb:.0f} MB.")
    return int(size)


_ANSWERS = {
    **ok(PresignResult, "Where to PUT the image, and its public URL once uploaded."),
    **error_responses(400, 401, 413, 415, 429, 503),
}


async def presign(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    config = config_of(request)
    store = request.app.state.store
    content_type = _content_type(body)
    size = _check_size(body, config.max_upload_bytes)
    if size is None and not store.enforces_max_size:
        # R2 can only bind a size it is told: without one an upload could be any length.
        raise ApiError(400, "size_required", "size is required: send the image's size in bytes.")
    upload = store.presign_put(
        new_key(UPLOAD_PREFIX, content_type),
        content_type,
        config.max_upload_bytes,
        config.presign_expires_s,
        content_length=size,
    )
    return {
        "uploadUrl": upload.upload_url,
        "publicUrl": upload.public_url,
        "key": upload.key,
        "expiresIn": upload.expires_in,
    }


@router.post(
    "/api/mobile/r2-presign",
    summary="Presigned upload URL",
    description=_DESCRIPTION,
    response_model=None,
    responses=_ANSWERS,
    openapi_extra={**request_body(PresignBody), **BEARER},
)
async def presign_mobile(
    request: Request, identity: Identity = Depends(require_identity)
) -> dict[str, Any]:
    config = config_of(request)
    await rate_limit(request, "presign", identity.user_id, config.rate_limit_presign)
    return await presign(request, await read_json_object(request))


@router.post(
    "/api/r2-presign",
    summary="Presigned upload URL (web, Turnstile)",
    description=_DESCRIPTION + " Also needs `turnstileToken`.",
    response_model=None,
    # 403 and 502 also come from the Turnstile check.
    responses={**_ANSWERS, **error_responses(403, 502)},
    openapi_extra={**request_body(PresignWebBody), **BEARER},
)
async def presign_web(
    request: Request, identity: Identity = Depends(require_identity)
) -> dict[str, Any]:
    config = config_of(request)
    await rate_limit(request, "presign", identity.user_id, config.rate_limit_presign)
    body = await read_json_object(request)
    await verify_turnstile(body.get("turnstileToken"), config, client_ip(request))
    return await presign(request, body)
