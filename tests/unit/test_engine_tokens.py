"""Token providers: embedded caching, Clerk's Frontend API sign-in (respx at the edge)."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
import respx

from gui.engine.tokens import ClerkTokenProvider, EmbeddedTokenProvider, SignInError
from tests.fakes.clerk_support import MemoryStore

CLERK = "https://clerk.example.test"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@respx.mock
async def test_embedded_token_is_cached_until_ten_seconds_before_expiry() -> None:
    route = respx.post("http://api.test/api/dev/token").mock(
        side_effect=[
            httpx.Response(200, json={"token": f"t{i}", "expiresIn": 60}) for i in range(5)
        ]
    )
    clock = Clock()
    provider = EmbeddedTokenProvider("http://api.test", "alice", clock=clock)
    assert await provider.token() == "t0"
    clock.now += 49
    assert await provider.token() == "t0"
    clock.now += 2  # 51 s: within the 10 s margin
    assert await provider.token() == "t1"
    assert await provider.token(force_refresh=True) == "t2"
    assert route.call_count == 3
    assert route.calls[0].request.content == b'{"userId":"alice"}'


def _session_jwt(ttl: float) -> str:
    return jwt.encode(
        {"sub": "user_1", "exp": int(time.time() + ttl)},
        "a-test-signing-key-of-32-bytes!!",
        algorithm="HS256",
    )


def _complete(session_id: str = "sess_1") -> dict[str, object]:
    """A spec-shaped ``Client.ClientWrappedSignIn`` answer for a complete sign-in."""
    user = {
        "id": "user_1",
        "primary_email_address_id": "idn_1",
        "email_addresses": [{"id": "idn_1", "email_address": "me@example.test"}],
    }
    return {
        "response": {
            "object": "sign_in_attempt",
            "id": "sia_1",
            "status": "complete",
            "created_session_id": session_id,
        },
        "client": {"object": "client", "sessions": [{"id": session_id, "user": user}]},
    }


@respx.mock
async def test_clerk_sign_in_then_session_tokens_refresh_before_expiry() -> None:
    sign_in = respx.post(f"{CLERK}/v1/client/sign_ins").mock(
        return_value=httpx.Response(200, json=_complete(), headers={"Authorization": "client-jwt"})
    )
    tokens = respx.post(f"{CLERK}/v1/client/sessions/sess_1/tokens").mock(
        side_effect=[
            httpx.Response(200, json={"jwt": _session_jwt(60)}, headers={"Authorization": f"c{i}"})
            for i in range(3)
        ]
    )
    clock = Clock()
    store = MemoryStore()
    provider = ClerkTokenProvider(CLERK, "me@example.test", store=store, clock=clock)
    with pytest.raises(SignInError, match=r"Sign in as me@example\.test first"):
        await provider.token()
    await provider.sign_in("hunter2")
    form = sign_in.calls[0].request.content.decode()
    assert "identifier=me%40example.test" in form and "password=hunter2" in form
    assert sign_in.calls[0].request.url.params["_is_native"] == "1"
    assert sign_in.calls[0].request.url.params["__clerk_api_version"] == "2026-05-12"
    first = await provider.token()
    assert tokens.calls[0].request.headers["authorization"] == "client-jwt"
    clock.now += 30
    assert await provider.token() == first
    clock.now += 25  # past exp - 10 s
    await provider.token()
    assert tokens.call_count == 2
    # The client token rotated with each answer; the newest one is sent next.
    assert tokens.calls[1].request.headers["authorization"] == "c0"
    assert store.data[f"clerk:{CLERK}:user_1:client"] == "c1"
    # A fresh provider (next app start) reuses the stored client token: no password.
    again = ClerkTokenProvider(CLERK, "me@example.test", store=store, clock=clock)
    assert again.signed_in
    await again.token()
    assert sign_in.call_count == 1


@respx.mock
async def test_clerk_wrong_password_and_ended_session_are_clear() -> None:
    respx.post(f"{CLERK}/v1/client/sign_ins").mock(
        return_value=httpx.Response(
            422,
            json={
                "errors": [
                    {
                        "code": "form_password_incorrect",
                        "message": "is incorrect",
                        "long_message": "Password is incorrect. Try again.",
                    }
                ]
            },
        )
    )
    store = MemoryStore()
    provider = ClerkTokenProvider(CLERK, "me@example.test", store=store)
    with pytest.raises(SignInError, match=r"Sign-in failed: Password is incorrect\. Try again\."):
        await provider.sign_in("nope")
    store.data = {
        f"clerk:{CLERK}:current": "user_1",
        f"clerk:{CLERK}:user_1:client": "c",
        f"clerk:{CLERK}:user_1:session": "sess_x",
        f"clerk:{CLERK}:user_1:emails": "me@example.test",
    }
    respx.post(f"{CLERK}/v1/client/sessions/sess_x/tokens").mock(
        return_value=httpx.Response(404, json={"errors": [{"message": "not found"}]})
    )
    with pytest.raises(SignInError, match="session has ended"):
        await provider.token()
    assert not provider.signed_in  # forgotten, so the next attempt asks for a password
