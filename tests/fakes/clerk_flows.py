"""The fake Clerk FAPI's handlers: sign-ins, OAuth, factors, sign-ups, sessions, tickets.

A mixin of ``FakeClerk`` (``clerk_fapi.py``, which documents the behaviour). Each handler
takes ``(client, form, request, **path)`` and answers ``(status, body)`` or raises
:class:`ClerkError`; shapes and rules follow Clerk's ``fapi/2026-05-12.yml``.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import deque
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.auth.dev_keys import DevKeyPair
from tests.fakes.clerk_state import (
    ClerkError,
    Client,
    Instance,
    Session,
    SignIn,
    User,
    new_id,
    second_factor_stub,
    verification,
)


def _err(status: int, code: str, message: str, **meta: Any) -> ClerkError:
    return ClerkError(status, code, message, **meta)


class SignInFlows:
    instance: Instance
    url: str
    keys: DevKeyPair
    users: dict[str, User]
    sessions: dict[str, Session]
    sign_ins: dict[str, SignIn]
    outbox: dict[str, list[str]]
    minted: list[str]
    _last_jwt: dict[str, str]
    _tickets: dict[str, tuple[str, float]]
    _hits: dict[str, deque[float]]

    def add_user(self, email: str, **fields: Any) -> User:
        user = User(id=new_id("user"), email=email.lower(), **fields)
        self.users[user.email] = user
        return user

    def mint_ticket(self, user_id: str, ttl_s: float = 600) -> str:
        token = secrets.token_urlsafe(24)
        self._tickets[token] = (user_id, time.time() + ttl_s)
        return token

    def _wrap(self, client: Client | None, response: Any) -> tuple[int, dict[str, Any]]:
        payload = client.resource(self.instance, self._last_jwt) if client else None
        return 200, {"response": response, "client": payload}

    def _user(self, identifier: str | None) -> User:
        if not identifier:
            raise _err(
                422, "form_param_missing", "Enter an email address.", param_name="identifier"
            )
        user = self.users.get(identifier.strip().lower())
        if user is None:
            raise _err(
                422,
                "form_identifier_not_found",
                "Couldn't find your account.",
                param_name="identifier",
            )
        return user

    def _rate_limit(self, request: Request) -> None:
        inst, ip = self.instance, request.client.host if request.client else "?"
        hits, now = self._hits[ip], time.monotonic()
        while hits and hits[0] <= now - inst.sign_in_window_s:
            hits.popleft()
        if inst.sign_in_limit and len(hits) >= inst.sign_in_limit:
            exc = _err(429, "too_many_requests", "Too many requests. Please try again in a bit.")
            wait = max(1, math.ceil(hits[0] + inst.sign_in_window_s - now))
            exc.headers["Retry-After"] = str(wait)
            raise exc
        hits.append(now)

    def _send_code(self, si: SignIn, slot: str) -> None:
        assert si.user is not None
        code = f"{secrets.randbelow(1_000_000):06d}"
        si.codes[slot] = code
        self.outbox[si.user.email].append(code)

    def _create_sign_in(self, client: Client, form: dict, request: Request) -> Any:
        self._rate_limit(request)
        strategy = form.get("strategy") or None
        si = SignIn(new_id("sia"), client.id)
        if strategy == "ticket":
            user_id, expires = self._tickets.pop(form.get("ticket", ""), ("", 0.0))
            user = next((u for u in self.users.values() if u.id == user_id), None)
            if user is None or expires < time.time():
                raise _err(
                    422,
                    "ticket_invalid",
                    "The sign-in ticket is invalid or expired.",
                    param_name="ticket",
                )
            si.user, si.identifier = user, user.email
            self._complete(client, si, "ticket")
        elif strategy and strategy.startswith("oauth_"):
            self._start_oauth(si, strategy, form)
        else:
            si.user = self._user(form.get("identifier"))
            si.identifier, si.status = si.user.email, "needs_first_factor"
            if strategy == "password":
                self._check_password(si, form)
                self._after_first(client, si, "password")
            elif strategy == "email_code":
                self._prepare_email(si)
            elif strategy:
                raise _err(
                    422,
                    "form_param_value_invalid",
                    f"Unsupported strategy {strategy}.",
                    param_name="strategy",
                )
        client.sign_in = si
        self.sign_ins[si.id] = si
        return self._wrap(client, si.resource(self.instance))

    def _start_oauth(self, si: SignIn, strategy: str, form: dict) -> None:
        provider = strategy.removeprefix("oauth_")
        if provider not in self.instance.oauth_providers:
            raise _err(
                422,
                "form_param_value_invalid",
                f"{strategy} is not enabled.",
                param_name="strategy",
            )
        if not form.get("redirect_url"):
            raise _err(
                422, "form_param_missing", "redirect_url is required.", param_name="redirect_url"
            )
        si.redirect_url = form["redirect_url"]
        page = f"{self.url}/_fake/oauth/{provider}?{urlencode({'sign_in': si.id})}"
        si.first = verification(strategy, external_verification_redirect_url=page)

    def _check_password(self, si: SignIn, form: dict) -> None:
        assert si.user is not None
        if not self.instance.password_enabled:
            raise _err(
                422,
                "form_param_value_invalid",
                "Password sign-in is not enabled.",
                param_name="strategy",
            )
        if si.user.password is None:
            raise _err(
                422,
                "strategy_for_user_invalid",
                "Verification strategy is not valid for this account.",
            )
        if not form.get("password"):
            raise _err(422, "form_param_missing", "Enter password.", param_name="password")
        if form["password"] != si.user.password:
            raise _err(
                422,
                "form_password_incorrect",
                "Password is incorrect. Try again, or use another method.",
                param_name="password",
            )

    def _prepare_email(self, si: SignIn) -> None:
        if not self.instance.email_code_enabled:
            raise _err(422, "strategy_for_user_invalid", "Email codes are not enabled.")
        self._send_code(si, "first")
        si.first = verification("email_code")

    def _after_first(self, client: Client, si: SignIn, strategy: str) -> None:
        assert si.user is not None
        si.first = verification(strategy, "verified")
        trust = (
            self.instance.client_trust
            and strategy == "password"
            and si.user.id not in client.known_users
        )
        if si.user.second_factor or trust:
            si.status = (
                "needs_client_trust"
                if trust and not si.user.second_factor
                else "needs_second_factor"
            )
            si.client_trust_state = "new" if trust else "known"
            si.second_factors = second_factor_stub(si.user, trust and not si.user.second_factor)
        else:
            self._complete(client, si, strategy)

    def _complete(self, client: Client, si: SignIn, strategy: str) -> None:
        assert si.user is not None
        session = Session(new_id("sess"), si.user, client.id)
        self.sessions[session.id] = session
        client.sessions.append(session)
        client.known_users.add(si.user.id)
        client.last_strategy = strategy
        si.status, si.created_session_id = "complete", session.id

    def _own_sign_in(self, client: Client, sid: str) -> SignIn:
        si = self.sign_ins.get(sid)
        if si is None or si.client_id != client.id:
            raise _err(404, "resource_not_found", "No sign-in was found with this id.")
        return si

    def _get_sign_in(self, client: Client, form: dict, request: Request, sid: str) -> Any:
        si = self._own_sign_in(client, sid)
        nonce = request.query_params.get("rotating_token_nonce")
        if nonce is not None:
            if not si.nonce or not secrets.compare_digest(nonce, si.nonce):
                raise _err(
                    422,
                    "form_param_value_invalid",
                    "The nonce is invalid.",
                    param_name="rotating_token_nonce",
                )
            si.nonce, outcome, si.pending = None, si.pending or {}, None
            strategy = str((si.first or {}).get("strategy"))
            if outcome.get("user"):
                si.user = outcome["user"]
                si.identifier = si.user.email
                self._after_first(client, si, strategy)
            else:
                si.first = verification(
                    strategy,
                    "transferable",
                    error={
                        "code": "external_account_not_found",
                        "message": "The External Account was not found.",
                        "long_message": "Invalid external account",
                        "meta": {},
                    },
                )
                si.identifier = outcome.get("email")
        return self._wrap(client, si.resource(self.instance))

    async def _oauth_page(self, provider: str, request: Request) -> Response:
        si = self.sign_ins.get(request.query_params.get("sign_in", ""))
        if si is None or si.redirect_url is None:
            return HTMLResponse("<p>Unknown sign-in.</p>", 404)
        email = request.query_params.get("approve", "").strip().lower()
        if not email:
            return HTMLResponse(f"<p>Fake {provider.title()}: add ?approve=&lt;email&gt;</p>")
        user = self.users.get(email)
        if user is not None and provider not in user.oauth:
            user.oauth = (*user.oauth, provider)  # Clerk links a verified email by default
        si.pending = {"user": user, "email": email}
        si.nonce = secrets.token_urlsafe(24)
        sep = "&" if "?" in si.redirect_url else "?"
        target = f"{si.redirect_url}{sep}{urlencode({'rotating_token_nonce': si.nonce})}"
        return RedirectResponse(target, 302)

    def _prepare1(self, client: Client, form: dict, request: Request, sid: str) -> Any:
        si = self._own_sign_in(client, sid)
        strategy = form.get("strategy", "")
        if strategy == "email_code" and si.user is not None:
            self._prepare_email(si)
        elif strategy.startswith("oauth_"):
            self._start_oauth(si, strategy, form)
        else:
            raise _err(
                422,
                "form_param_value_invalid",
                f"Cannot prepare {strategy}.",
                param_name="strategy",
            )
        return self._wrap(client, si.resource(self.instance))

    def _attempt1(self, client: Client, form: dict, request: Request, sid: str) -> Any:
        si = self._own_sign_in(client, sid)
        strategy = form.get("strategy", "")
        if si.status != "needs_first_factor":
            raise _err(
                400, "verification_status_invalid", "This sign-in is not awaiting a first factor."
            )
        if strategy == "password":
            self._check_password(si, form)
        elif strategy == "email_code":
            self._check_code(si, "first", form)
        else:
            raise _err(
                422,
                "form_param_value_invalid",
                f"Cannot attempt {strategy}.",
                param_name="strategy",
            )
        self._after_first(client, si, strategy)
        return self._wrap(client, si.resource(self.instance))

    def _check_code(self, si: SignIn, slot: str, form: dict) -> None:
        expected = si.codes.get(slot)
        if expected is None:
            raise _err(422, "verification_missing", "Prepare this verification first.")
        if form.get("code", "").strip() != expected:
            raise _err(422, "form_code_incorrect", "Incorrect code", param_name="code")
        si.codes.pop(slot)

    def _prepare2(self, client: Client, form: dict, request: Request, sid: str) -> Any:
        si = self._own_sign_in(client, sid)
        if si.status not in ("needs_second_factor", "needs_client_trust"):
            raise _err(400, "verification_status_invalid", "No second factor is awaited.")
        strategy = form.get("strategy") or "email_code"
        if not any(f["strategy"] == strategy for f in si.second_factors or []):
            raise _err(422, "strategy_for_user_invalid", f"{strategy} is not available.")
        self._send_code(si, "second")
        si.second = verification(strategy)
        return self._wrap(client, si.resource(self.instance))

    def _attempt2(self, client: Client, form: dict, request: Request, sid: str) -> Any:
        si = self._own_sign_in(client, sid)
        assert si.user is not None
        strategy = form.get("strategy", "")
        if si.status not in ("needs_second_factor", "needs_client_trust"):
            raise _err(400, "verification_status_invalid", "No second factor is awaited.")
        if not any(f["strategy"] == strategy for f in si.second_factors or []):
            raise _err(422, "strategy_for_user_invalid", f"{strategy} is not available.")
        if strategy == "totp":
            if form.get("code", "").strip() != si.user.totp_code:
                raise _err(422, "form_code_incorrect", "Incorrect code", param_name="code")
        else:
            self._check_code(si, "second", form)
        si.second = verification(strategy, "verified")
        self._complete(client, si, si.first["strategy"] if si.first else strategy)
        return self._wrap(client, si.resource(self.instance))
