"""Cloudflare Turnstile verification for the web routes (siteverify).

Embedded mode has no Cloudflare account: with no secret configured it accepts only
Cloudflare's documented dummy token, locally. Cloudflare's documented test secrets are
answered locally too, so tests and dev setups never need the network.
"""

from __future__ import annotations

import logging

import httpx

from backend.config import BackendConfig
from backend.errors import ApiError

log = logging.getLogger(__name__)

SITEVERIFY_URL = "https://challenges.cloudflare.com/turnstile/v0/siteverify"
DUMMY_TOKEN = "XXXX.DUMMY.TOKEN.XXXX"
TEST_SECRET_PASS = "1x0000000000000000000000000000000AA"
TEST_SECRETS_FAIL = (
    "2x0000000000000000000000000000000AA",
    "3x0000000000000000000000000000000AA",  # "yields a token already spent error"
)
MAX_TOKEN_LENGTH = 2048  # Cloudflare: tokens are at most 2048 characters
TIMEOUT_S = 10.0


def _failed(reason: str = "the check did not pass") -> ApiError:
    return ApiError(403, "turnstile_failed", f"Verification failed: {reason}. Please try again.")


async def verify_turnstile(
    token: str | None,
    config: BackendConfig,
    remote_ip: str | None = None,
    *,
    client: httpx.AsyncClient | None = None,
) -> None:
    """Return if ``token`` passes Turnstile; raise ApiError 403 "turnstile_failed" if not."""
    if not token or not isinstance(token, str):
        raise _failed("no verification token was sent")
    if len(token) > MAX_TOKEN_LENGTH:
        raise _failed("the verification token is too long")
    secret = config.turnstile_secret
    if not secret:
        if config.embedded and token == DUMMY_TOKEN:
            return
        if config.embedded:
            raise _failed("the verification token is not valid")
        raise ApiError(
            503, "turnstile_not_configured", "Verification is not configured on this server."
        )
    if secret == TEST_SECRET_PASS:
        return
    if secret in TEST_SECRETS_FAIL:
        raise _failed()
    await _siteverify(token, secret, remote_ip, client)


async def _siteverify(
    token: str, secret: str, remote_ip: str | None, client: httpx.AsyncClient | None
) -> None:
    form = {"secret": secret, "response": token}
    if remote_ip:
        form["remoteip"] = remote_ip
    owned = client is None
    http = client or httpx.AsyncClient(timeout=TIMEOUT_S)
    try:
        resp = await http.post(SITEVERIFY_URL, data=form)
        body = resp.json() if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("turnstile siteverify failed: %s", exc)
        raise ApiError(
            502, "turnstile_unavailable", "Verification could not be completed. Please try again."
        ) from exc
    finally:
        if owned:
            await http.aclose()
    if not isinstance(body, dict):
        raise ApiError(
            502, "turnstile_unavailable", "Verification could not be completed. Please try again."
        )
    if body.get("success") is not True:
        codes = body.get("error-codes") or []
        log.info("turnstile rejected a token: %s", codes)
        if "timeout-or-duplicate" in codes:
            raise _failed("the check expired or was already used")
        raise _failed()
