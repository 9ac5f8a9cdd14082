"""ClerkSignIn's pieces without a server: the loopback listener, Clerk's errors and 429s,
the choice of a second factor (respx at Clerk's edge)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from gui.engine.clerk_oauth import LoopbackCallback
from gui.engine.clerk_sign_in import ClerkSignIn, ClerkSignInError
from gui.engine.tokens import clerk_error

CLERK = "https://clerk.example.test"


class MemoryStore(dict[str, str]):
    def get(self, key: str) -> str | None:  # type: ignore[override]
        return dict.get(self, key)

    def set(self, key: str, value: str) -> None:
        self[key] = value

    def delete(self, key: str) -> None:
        self.pop(key, None)


async def test_loopback_answers_only_its_path_once() -> None:
    listener = LoopbackCallback()
    url = await listener.start()
    assert url.startswith("http://127.0.0.1:") and "/clerk-callback/" in url
    async with httpx.AsyncClient() as http:
        base = url.rsplit("/clerk-callback/", 1)[0]
        assert (
            await http.get(f"{base}/clerk-callback/guess?rotating_token_nonce=x")
        ).status_code == 404
        waiting = asyncio.create_task(listener.wait(5))
        resp = await http.get(f"{url}?rotating_token_nonce=n1&x=y")
        assert resp.status_code == 200 and "return to imagegen" in resp.text
    assert await waiting == {"rotating_token_nonce": "n1", "x": "y"}
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):  # one-shot: closed after the callback
            await http.get(url, timeout=2)


def test_429_says_how_long_and_other_errors_keep_clerks_words() -> None:
    limited = clerk_error(httpx.Response(429, headers={"Retry-After": "7"}, json={"errors": []}))
    assert (limited.code, limited.retry_after_s, limited.status) == ("too_many_requests", 7.0, 429)
    assert "wait 7 seconds" in limited.message
    bare = clerk_error(httpx.Response(429, text="slow down"))
    assert bare.retry_after_s is None and "wait a moment" in bare.message
    err = {
        "code": "form_code_incorrect",
        "message": "Incorrect code",
        "long_message": "The code is wrong.",
    }
    wrong = clerk_error(httpx.Response(422, json={"errors": [err]}))
    assert (wrong.code, wrong.message) == ("form_code_incorrect", "The code is wrong.")


@respx.mock
async def test_second_factor_prefers_the_default_and_sends_email_codes() -> None:
    attempt = {
        "object": "sign_in_attempt",
        "id": "sia_1",
        "status": "needs_second_factor",
        "supported_second_factors": [
            {"strategy": "totp"},
            {
                "strategy": "email_code",
                "email_address_id": "idn_1",
                "safe_identifier": "m***@x.test",
                "default": True,
            },
        ],
    }
    respx.post(f"{CLERK}/v1/client/sign_ins").mock(
        return_value=httpx.Response(
            200, json={"response": attempt, "client": {}}, headers={"Authorization": "c1"}
        )
    )
    prepare = respx.post(f"{CLERK}/v1/client/sign_ins/sia_1/prepare_second_factor").mock(
        return_value=httpx.Response(
            200, json={"response": attempt, "client": {}}, headers={"Authorization": "c2"}
        )
    )
    store = MemoryStore()
    step = await ClerkSignIn(CLERK, store).with_password("me@x.test", "pw")
    assert (step.status, step.factor, step.destination) == (
        "needs_code",
        "email_code",
        "m***@x.test",
    )
    assert "email_address_id=idn_1" in prepare.calls[0].request.content.decode()
    assert prepare.calls[0].request.headers["authorization"] == "c1"
    assert store[f"clerk:{CLERK}:client"] == "c2"  # saved from every answer


async def test_submit_code_without_a_pending_step_is_refused() -> None:
    with pytest.raises(ClerkSignInError, match="No code is awaited"):
        await ClerkSignIn(CLERK, MemoryStore()).submit_code("123456")
