# ruff: noqa: F811  (the fixtures imported from clerk_support)
"""ClerkSignIn against the fake Frontend API, each path ending in a generation accepted by
the real backend in Clerk mode (the session JWT minted by the engine's token provider)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import jwt
import pytest

from backend.server import EmbeddedBackend
from gui.engine.clerk_sign_in import ClerkSignIn, ClerkSignInError
from gui.engine.tokens import CLERK_API_VERSION, SignInError
from tests.fakes.clerk_fapi import FakeClerk
from tests.fakes.clerk_support import MemoryStore, clerk_backend, clerk_fapi  # noqa: F401

GENERATE_PATH = "/api/mobile/generate-images"


def browser(clerk: FakeClerk, email: str) -> Callable[[str], None]:
    """The browser stand-in: approve on the provider's page, follow the 302 to the loopback."""

    def open_browser(url: str) -> None:
        callback = clerk.browser_approve(url, email)
        assert callback.startswith("http://127.0.0.1:")
        assert httpx.get(callback, timeout=10).status_code == 200

    return open_browser


async def generate_with(flow: ClerkSignIn, backend: EmbeddedBackend) -> dict[str, object]:
    token = await flow.token_provider().token()
    body = {
        "prompt": "a harbour",
        "model": "img-imagen4-preview",
        "aspectRatio": "1:1",
        "idempotencyKey": uuid.uuid4().hex,
        "sessionTitle": "Harbour",
    }
    async with httpx.AsyncClient(timeout=30) as http:
        resp = await http.post(
            f"{backend.base_url}{GENERATE_PATH}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
    assert resp.status_code == 200, resp.text
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    assert "azp" not in claims  # desktop tokens carry none; the backend accepts them
    return claims


def native_calls_only(clerk: FakeClerk) -> None:
    calls = [r for r in clerk.requests if r.path.startswith("/v1/client")]
    assert calls and all(r.query.get("_is_native") == "1" for r in calls)
    assert {r.api_version for r in calls} == {CLERK_API_VERSION}


async def test_password_then_token_rotation_and_sign_out(
    clerk_fapi: FakeClerk,
    clerk_backend: EmbeddedBackend,
) -> None:
    user = clerk_fapi.add_user("ann@example.com", password="pw")
    store = MemoryStore()
    flow = ClerkSignIn(clerk_fapi.url, store)
    step = await flow.with_password("ann@example.com", "pw")
    assert step.status == "complete" and flow.who == "ann@example.com"
    key = f"clerk:{clerk_fapi.url}:{user.id}"
    assert store.data[f"clerk:{clerk_fapi.url}:current"] == user.id
    first_client_jwt = store.data[key + ":client"]
    claims = await generate_with(flow, clerk_backend)
    assert claims["sub"] == user.id
    # The client JWT rotates on every answer and each new one is saved: minting again
    # (a fresh provider, nothing cached) still works after several rotations.
    assert store.data[key + ":client"] != first_client_jwt
    for _ in range(3):
        await flow.token_provider().token(force_refresh=True)
    native_calls_only(clerk_fapi)
    await flow.sign_out()
    assert flow.who is None and f"clerk:{clerk_fapi.url}:current" not in store.data
    assert clerk_fapi.requests[-1].path.endswith("/end")
    assert not any(s.status == "active" for s in clerk_fapi.sessions.values())
    with pytest.raises(SignInError, match="Sign in first"):
        await flow.token_provider().token()


async def test_email_code_first_factor(
    clerk_fapi: FakeClerk,
    clerk_backend: EmbeddedBackend,
) -> None:
    clerk_fapi.add_user("ann@example.com")
    flow = ClerkSignIn(clerk_fapi.url, MemoryStore())
    step = await flow.with_email_code("ann@example.com")
    assert (step.status, step.factor, step.purpose) == ("needs_code", "email_code", "first_factor")
    assert step.destination and step.message
    with pytest.raises(ClerkSignInError) as wrong:
        await flow.submit_code("000000")
    assert wrong.value.code and wrong.value.message
    step = await flow.submit_code(clerk_fapi.last_code("ann@example.com"))
    assert step.status == "complete"
    await generate_with(flow, clerk_backend)


async def test_oauth_returning_and_new_users(
    clerk_fapi: FakeClerk,
    clerk_backend: EmbeddedBackend,
) -> None:
    clerk_fapi.add_user("old@example.com", oauth=("google",))
    flow = ClerkSignIn(
        clerk_fapi.url, MemoryStore(), open_browser=browser(clerk_fapi, "old@example.com")
    )
    assert (await flow.with_oauth("google", timeout_s=20)).status == "complete"
    assert flow.who == "old@example.com"
    await generate_with(flow, clerk_backend)
    nonce_calls = [r for r in clerk_fapi.requests if "rotating_token_nonce" in r.query]
    assert nonce_calls and nonce_calls[0].method == "GET"

    new = ClerkSignIn(
        clerk_fapi.url, MemoryStore(), open_browser=browser(clerk_fapi, "new@example.com")
    )
    assert (await new.with_oauth("apple", timeout_s=20)).status == "complete"
    assert new.who == "new@example.com" and "new@example.com" in clerk_fapi.users
    assert any(
        r.path == "/v1/client/sign_ups" and r.form.get("transfer") == "true"
        for r in clerk_fapi.requests
    )
    await generate_with(new, clerk_backend)


async def test_oauth_only_user_is_told_to_use_google_apple_or_a_code(
    clerk_fapi: FakeClerk,
) -> None:
    clerk_fapi.add_user("g@example.com", oauth=("google",))
    with pytest.raises(ClerkSignInError) as exc:
        await ClerkSignIn(clerk_fapi.url, MemoryStore()).with_password("g@example.com", "x")
    assert exc.value.code == "strategy_for_user_invalid"
    assert "Google or Apple" in exc.value.message and "email code" in exc.value.message


async def test_second_factor_and_client_trust(
    clerk_fapi: FakeClerk,
    clerk_backend: EmbeddedBackend,
) -> None:
    clerk_fapi.add_user("mfa@example.com", password="pw", second_factor="totp")
    flow = ClerkSignIn(clerk_fapi.url, MemoryStore())
    step = await flow.with_password("mfa@example.com", "pw")
    assert (step.status, step.factor, step.purpose) == ("needs_code", "totp", "second_factor")
    assert (await flow.submit_code("424242")).status == "complete"
    await generate_with(flow, clerk_backend)

    clerk_fapi.instance.client_trust = True
    clerk_fapi.add_user("ann@example.com", password="pw")
    trust = ClerkSignIn(clerk_fapi.url, MemoryStore())
    step = await trust.with_password("ann@example.com", "pw")
    assert (step.status, step.factor, step.purpose) == ("needs_code", "email_code", "client_trust")
    assert (await trust.submit_code(clerk_fapi.last_code("ann@example.com"))).status == "complete"
    await generate_with(trust, clerk_backend)


async def test_ticket(clerk_fapi: FakeClerk, clerk_backend: EmbeddedBackend) -> None:
    user = clerk_fapi.add_user("ann@example.com")
    flow = ClerkSignIn(clerk_fapi.url, MemoryStore())
    assert (await flow.with_ticket(clerk_fapi.mint_ticket(user.id))).status == "complete"
    await generate_with(flow, clerk_backend)


async def test_rate_limit_says_how_long_to_wait(clerk_fapi: FakeClerk) -> None:
    clerk_fapi.add_user("ann@example.com", password="pw")
    clerk_fapi.instance.sign_in_limit = 2
    flow = ClerkSignIn(clerk_fapi.url, MemoryStore())
    for _ in range(2):
        with pytest.raises(ClerkSignInError):
            await flow.with_password("ann@example.com", "wrong")
    with pytest.raises(ClerkSignInError) as exc:
        await flow.with_password("ann@example.com", "pw")
    assert exc.value.retry_after_s and exc.value.retry_after_s > 0
    assert exc.value.code == "too_many_requests"
    assert f"wait {round(exc.value.retry_after_s)} second" in exc.value.message
