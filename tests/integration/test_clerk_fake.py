"""The fake Clerk Frontend API, driven over plain httpx as a native client would, and its
session JWTs accepted by the real backend in Clerk mode."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from backend.server import EmbeddedBackend
from tests.fakes import clerk_support
from tests.fakes.clerk_fapi import FakeClerk
from tests.fakes.clerk_support import API_VERSION, NativeFapi

# The shared fixtures: a started fake, and the real backend in Clerk mode trusting it.
clerk_fapi = clerk_support.clerk_fapi
clerk_backend = clerk_support.clerk_backend

GENERATE_PATH = "/api/mobile/generate-images"
SYNC_MODEL = "img-imagen4-preview"
APP_REDIRECT = "imagegen://oauth-callback"


@pytest.fixture
def native(clerk_fapi: FakeClerk) -> Iterator[NativeFapi]:
    client = NativeFapi(clerk_fapi)
    yield client
    client.close()


def error_code(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    error = resp.json()["errors"][0]
    assert {"code", "message", "long_message", "meta"} <= set(error)
    code: str = error["code"]
    return code


def generate(backend: EmbeddedBackend, token: str) -> httpx.Response:
    body = {
        "prompt": "a harbour",
        "model": SYNC_MODEL,
        "aspectRatio": "1:1",
        "idempotencyKey": uuid.uuid4().hex,
        "sessionTitle": "Harbour",
    }
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(f"{backend.base_url}{GENERATE_PATH}", json=body, headers=headers, timeout=30)


def test_password_sign_in_token_is_accepted_by_the_backend_in_clerk_mode(
    clerk_fapi: FakeClerk,
    clerk_backend: EmbeddedBackend,
    native: NativeFapi,
) -> None:
    user = clerk_fapi.add_user("ann@example.com", password="correct horse")
    si = native.sign_in(identifier="ann@example.com", strategy="password", password="correct horse")
    assert si["status"] == "complete"
    token = native.session_token(si["created_session_id"])
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == clerk_fapi.url and claims["sub"] == user.id
    assert claims["sid"] == si["created_session_id"] and "azp" not in claims
    assert claims["nbf"] <= claims["iat"] < claims["exp"]
    resp = generate(clerk_backend, token)
    assert resp.status_code == 200, resp.text
    assert resp.json()["success"] is True
    assert {r.api_version for r in clerk_fapi.requests} == {API_VERSION}
    # A token signed by another key, or from another issuer, is refused.
    assert generate(clerk_backend, "x.y.z").status_code == 401


def test_origin_adds_azp_and_the_backend_still_accepts_it(
    clerk_fapi: FakeClerk,
    clerk_backend: EmbeddedBackend,
    native: NativeFapi,
) -> None:
    clerk_fapi.add_user("ann@example.com", password="pw")
    sid = native.sign_in(identifier="ann@example.com", strategy="password", password="pw")[
        "created_session_id"
    ]
    resp = native.http.post(
        f"/v1/client/sessions/{sid}/tokens",
        params={"_is_native": "1"},
        headers={"Authorization": native.client_jwt or "", "Origin": "https://app.example.com"},
    )
    claims = jwt.decode(resp.json()["jwt"], options={"verify_signature": False})
    assert claims["azp"] == "https://app.example.com"
    assert generate(clerk_backend, resp.json()["jwt"]).status_code == 200


def test_native_flag_form_body_and_client_jwt_are_required(
    clerk_fapi: FakeClerk,
    native: NativeFapi,
) -> None:
    clerk_fapi.add_user("ann@example.com", password="pw")
    bare = httpx.post(
        f"{clerk_fapi.url}/v1/client/sign_ins", data={"identifier": "ann@example.com"}
    )
    assert error_code(bare, 400) == "fake_native_flag_missing"
    si = native.sign_in(identifier="ann@example.com")
    assert si["status"] == "needs_first_factor"
    assert {"strategy": "password"} in si["supported_first_factors"]
    anonymous = httpx.get(
        f"{clerk_fapi.url}/v1/client/sign_ins/{si['id']}", params={"_is_native": "1"}
    )
    assert error_code(anonymous, 401) == "authentication_invalid"


def test_the_client_jwt_rotates_and_the_previous_one_works_once(
    clerk_fapi: FakeClerk,
    native: NativeFapi,
) -> None:
    clerk_fapi.add_user("ann@example.com", password="pw")
    si = native.sign_in(identifier="ann@example.com")
    first = native.client_jwt
    native.ok("GET", f"/v1/client/sign_ins/{si['id']}")
    second = native.client_jwt
    assert first and second and first != second
    path = f"{clerk_fapi.url}/v1/client/sign_ins/{si['id']}"
    again = httpx.get(path, params={"_is_native": "1"}, headers={"Authorization": first})
    assert again.status_code == 200 and again.headers["authorization"] not in (first, second)
    spent = httpx.get(path, params={"_is_native": "1"}, headers={"Authorization": first})
    assert error_code(spent, 401) == "authentication_invalid"


def test_email_code_first_factor_and_a_wrong_code(
    clerk_fapi: FakeClerk,
    native: NativeFapi,
) -> None:
    clerk_fapi.add_user("oauth@example.com", oauth=("google",))
    si = native.sign_in(identifier="oauth@example.com", strategy="email_code")
    assert si["first_factor_verification"]["strategy"] == "email_code"
    wrong = native.call(
        "POST",
        f"/v1/client/sign_ins/{si['id']}/attempt_first_factor",
        {"strategy": "email_code", "code": "000000x"},
    )
    assert error_code(wrong, 422) == "form_code_incorrect"
    done = native.step(
        si["id"],
        "attempt_first_factor",
        strategy="email_code",
        code=clerk_fapi.last_code("oauth@example.com"),
    )
    assert done["status"] == "complete"


def test_password_refused_for_an_oauth_only_user_and_when_disabled(
    clerk_fapi: FakeClerk,
    native: NativeFapi,
) -> None:
    clerk_fapi.add_user("oauth@example.com", oauth=("google",))
    clerk_fapi.add_user("ann@example.com", password="pw")
    form = {"identifier": "oauth@example.com", "strategy": "password", "password": "x"}
    resp = native.call("POST", "/v1/client/sign_ins", form)
    assert error_code(resp, 422) == "strategy_for_user_invalid"
    resp = native.call("POST", "/v1/client/sign_ins", {**form, "identifier": "nobody@x.com"})
    assert error_code(resp, 422) == "form_identifier_not_found"
    clerk_fapi.instance.password_enabled = False
    resp = native.call(
        "POST", "/v1/client/sign_ins", {**form, "identifier": "ann@example.com", "password": "pw"}
    )
    assert error_code(resp, 422) == "form_param_value_invalid"


def test_client_trust_then_a_known_client_signs_in_directly(
    clerk_fapi: FakeClerk,
    native: NativeFapi,
) -> None:
    clerk_fapi.instance.client_trust = True
    clerk_fapi.add_user("ann@example.com", password="pw")
    form = {"identifier": "ann@example.com", "strategy": "password", "password": "pw"}
    si = native.sign_in(**form)
    assert si["status"] == "needs_client_trust" and si["client_trust_state"] == "new"
    assert si["supported_second_factors"][0]["strategy"] == "email_code"
    native.step(si["id"], "prepare_second_factor", strategy="email_code")
    done = native.step(
        si["id"],
        "attempt_second_factor",
        strategy="email_code",
        code=clerk_fapi.last_code("ann@example.com"),
    )
    assert done["status"] == "complete"
    assert native.sign_in(**form)["status"] == "complete"


def test_totp_second_factor(clerk_fapi: FakeClerk, native: NativeFapi) -> None:
    clerk_fapi.add_user("mfa@example.com", password="pw", second_factor="totp")
    si = native.sign_in(identifier="mfa@example.com", strategy="password", password="pw")
    assert si["status"] == "needs_second_factor"
    wrong = native.call(
        "POST",
        f"/v1/client/sign_ins/{si['id']}/attempt_second_factor",
        {"strategy": "totp", "code": "111111"},
    )
    assert error_code(wrong, 422) == "form_code_incorrect"
    done = native.step(si["id"], "attempt_second_factor", strategy="totp", code="424242")
    assert done["status"] == "complete"


def oauth_nonce(clerk: FakeClerk, si: dict, email: str) -> str:
    url = si["first_factor_verification"]["external_verification_redirect_url"]
    location = clerk.browser_approve(url, email)
    assert location.startswith(APP_REDIRECT + "?")
    return parse_qs(urlsplit(location).query)["rotating_token_nonce"][0]


def test_oauth_for_a_known_user_completes_with_the_nonce(
    clerk_fapi: FakeClerk,
    native: NativeFapi,
) -> None:
    clerk_fapi.add_user("ann@example.com", password="pw")
    si = native.sign_in(strategy="oauth_google", redirect_url=APP_REDIRECT)
    nonce = oauth_nonce(clerk_fapi, si, "ann@example.com")
    path = f"/v1/client/sign_ins/{si['id']}"
    assert native.ok("GET", path)["response"]["status"] != "complete"
    done = native.ok("GET", path, rotating_token_nonce=nonce)["response"]
    assert done["status"] == "complete" and done["created_session_id"]
    reused = native.call("GET", path, rotating_token_nonce=nonce)
    assert error_code(reused, 422) == "form_param_value_invalid"


def test_first_time_oauth_user_is_transferred_to_a_sign_up(
    clerk_fapi: FakeClerk,
    clerk_backend: EmbeddedBackend,
    native: NativeFapi,
) -> None:
    si = native.sign_in(strategy="oauth_apple", redirect_url=APP_REDIRECT)
    nonce = oauth_nonce(clerk_fapi, si, "new@example.com")
    back = native.ok("GET", f"/v1/client/sign_ins/{si['id']}", rotating_token_nonce=nonce)
    assert back["response"]["first_factor_verification"]["status"] == "transferable"
    su = native.ok("POST", "/v1/client/sign_ups", {"transfer": "true"})["response"]
    assert su["status"] == "complete" and su["created_user_id"]
    token = native.session_token(su["created_session_id"])
    assert generate(clerk_backend, token).status_code == 200


def test_ticket_from_the_backend_api(clerk_fapi: FakeClerk, native: NativeFapi) -> None:
    user = clerk_fapi.add_user("ann@example.com")
    url = f"{clerk_fapi.url}/v1/sign_in_tokens"
    assert httpx.post(url, json={"user_id": user.id}).status_code == 401
    minted = httpx.post(
        url,
        json={"user_id": user.id},
        headers={"Authorization": f"Bearer {clerk_fapi.instance.secret_key}"},
    )
    ticket = minted.json()["token"]
    assert native.sign_in(strategy="ticket", ticket=ticket)["status"] == "complete"
    again = native.call("POST", "/v1/client/sign_ins", {"strategy": "ticket", "ticket": ticket})
    assert error_code(again, 422) == "ticket_invalid"


def test_sign_in_creation_is_rate_limited(
    clerk_fapi: FakeClerk,
    native: NativeFapi,
) -> None:
    clerk_fapi.add_user("ann@example.com", password="pw")
    for _ in range(5):
        native.sign_in(identifier="ann@example.com")
    resp = native.call("POST", "/v1/client/sign_ins", {"identifier": "ann@example.com"})
    assert error_code(resp, 429) == "too_many_requests"
    assert 1 <= int(resp.headers["retry-after"]) <= 10


def test_sign_out_ends_the_session(clerk_fapi: FakeClerk, native: NativeFapi) -> None:
    clerk_fapi.add_user("ann@example.com", password="pw")
    sid = native.sign_in(identifier="ann@example.com", strategy="password", password="pw")[
        "created_session_id"
    ]
    ended = native.ok("POST", f"/v1/client/sessions/{sid}/end")
    assert ended["response"]["status"] == "ended" and ended["client"]["sessions"] == []
    resp = native.call("POST", f"/v1/client/sessions/{sid}/tokens")
    assert error_code(resp, 401) == "authentication_invalid"
