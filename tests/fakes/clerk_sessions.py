"""The fake Clerk FAPI's session side: environment, sign-up transfer, session tokens, sign-out,
and the Backend-API-style ``POST /v1/sign_in_tokens``. A mixin of ``FakeClerk``.

Session JWTs follow Clerk's session token (v2): RS256, ``iss`` = the FAPI URL, ``sub``,
``sid``, ``iat``/``nbf``/``exp``, ``v``, ``fva``, and ``azp`` only when an ``Origin`` was sent.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from tests.fakes.clerk_flows import SignInFlows, _err
from tests.fakes.clerk_state import Client, Session, SignUp, new_id


class SessionFlows(SignInFlows):
    def _environment(self, client: Client | None, form: dict, request: Request) -> Any:
        inst = self.instance
        social = {
            f"oauth_{p}": {"enabled": True, "strategy": f"oauth_{p}", "name": p.title()}
            for p in inst.oauth_providers
        }
        first = (["password"] if inst.password_enabled else []) + (
            ["email_code"] if inst.email_code_enabled else []
        )
        return 200, {
            "object": "environment",
            "auth_config": {"object": "auth_config"},
            "user_settings": {
                "attributes": {
                    "email_address": {
                        "enabled": True,
                        "used_for_first_factor": True,
                        "first_factors": first,
                        "verifications": first,
                    },
                    "password": {"enabled": inst.password_enabled},
                },
                "social": social,
                "sign_in": {"second_factor": {"required": False}},
                "client_trust": {"enabled": inst.client_trust},
            },
        }

    def _create_sign_up(self, client: Client, form: dict, request: Request) -> Any:
        si = client.sign_in
        first = (si.first or {}) if si else {}
        if form.get("transfer") not in ("true", "1") or first.get("status") != "transferable":
            raise _err(422, "fake_not_implemented", "The fake only does OAuth transfers.")
        assert si is not None and si.identifier
        provider = str(first["strategy"]).removeprefix("oauth_")
        user = self.add_user(si.identifier, oauth=(provider,))
        si.user = user
        self._complete(client, si, str(first["strategy"]))
        client.sign_up = SignUp(
            new_id("sua"),
            user.email,
            created_user_id=user.id,
            created_session_id=si.created_session_id,
        )
        return self._wrap(client, client.sign_up.resource())

    def _session(self, client: Client, sid: str) -> Session:
        session = self.sessions.get(sid)
        if session is None or session.client_id != client.id:
            raise _err(404, "resource_not_found", "No session was found with this id.")
        if session.status != "active":
            raise _err(401, "authentication_invalid", "The session has ended.")
        return session

    def _token(self, client: Client, form: dict, request: Request, sid: str) -> Any:
        session, now = self._session(client, sid), int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": session.user.id,
            "sid": session.id,
            "iat": now,
            "nbf": now - 10,
            "exp": now + self.instance.session_token_ttl_s,
            "jti": secrets.token_hex(10),
            "v": 2,
            "fva": [0, -1],
        }
        if request.headers.get("origin"):
            claims["azp"] = request.headers["origin"]
        token = jwt.encode(
            claims,
            self.keys.private_key,
            algorithm="RS256",
            headers={"kid": self.keys.kid, "typ": "JWT"},
        )
        self._last_jwt[session.id] = token
        self.minted.append(token)
        return 200, {"object": "token", "jwt": token}

    def _end(self, client: Client, form: dict, request: Request, sid: str) -> Any:
        session = self._session(client, sid)
        session.status = "ended"
        return self._wrap(client, session.resource())

    def _end_all(self, client: Client, form: dict, request: Request) -> Any:
        for session in client.active_sessions():
            session.status = "ended"
        return self._wrap(client, client.resource(self.instance, self._last_jwt))

    async def _bapi_sign_in_token(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.instance.secret_key}":
            return JSONResponse(
                _err(401, "authentication_invalid", "Invalid secret key.").body(), 401
            )
        body = await request.json()
        user_id = str(body.get("user_id", ""))
        if not any(u.id == user_id for u in self.users.values()):
            return JSONResponse(_err(404, "resource_not_found", "User not found.").body(), 404)
        ttl = float(body.get("expires_in_seconds", 2592000))
        token, now = self.mint_ticket(user_id, ttl), int(time.time())
        return JSONResponse(
            {
                "object": "sign_in_token",
                "id": new_id("sit"),
                "user_id": user_id,
                "token": token,
                "status": "pending",
                "url": f"{self.url}/v1/tickets/accept?ticket={token}",
                "created_at": now,
                "updated_at": now,
            }
        )
