"""A fake of Clerk's Frontend API (FAPI) for a *native* client, over real HTTP.

Usage::

    from tests.fakes.clerk_fapi import FakeClerk
    with FakeClerk() as clerk:                       # or the `clerk_fapi` fixture
        clerk.add_user("ann@example.com", password="pw")            # password + email code
        clerk.add_user("oauth@example.com", oauth=("google",))       # no password
        clerk.add_user("mfa@example.com", password="pw", second_factor="totp")  # code 424242
        clerk.instance.client_trust = True           # password from a new client -> trust
        clerk.instance.password_enabled = False      # password off at instance level
        clerk.url                                    # http://127.0.0.1:<port> (the FAPI URL)
        clerk.last_code("ann@example.com")           # codes "emailed" (clerk.outbox[email])
        clerk.requests[-1].api_version               # what each call sent (__clerk_api_version)

Every ``/v1/client...`` call needs ``?_is_native=1`` and (after the first) the client JWT of
the last ``Authorization`` response header, sent back raw or as ``Bearer``. The JWT rotates on
every response; the previous one is accepted once more, then 401. ``POST /v1/client/sign_ins``
is rate-limited (``instance.sign_in_limit`` per ``sign_in_window_s`` per IP -> 429
``too_many_requests`` + ``Retry-After``). Bodies must be form-encoded.

OAuth (``strategy=oauth_google|oauth_apple`` + ``redirect_url``): the sign-in's
``first_factor_verification.external_verification_redirect_url`` is a page of this fake standing
in for the provider and the browser. ``clerk.browser_approve(url, email)`` (or GET it with
``&approve=<email>``) answers 302 to ``redirect_url?rotating_token_nonce=…``; the client then
calls ``GET /v1/client/sign_ins/{id}?rotating_token_nonce=…`` which applies the outcome:
known email -> ``complete`` (or ``needs_second_factor``); unknown -> first factor
``transferable`` -> ``POST /v1/client/sign_ups transfer=true`` makes the user and session.

Ticket: ``clerk.mint_ticket(user_id)`` or Backend-API-style ``POST /v1/sign_in_tokens``
(``Authorization: Bearer <instance.secret_key>``, JSON ``{user_id}``) -> ``token`` usable once
with ``strategy=ticket``. Session JWTs: RS256, ``iss`` = ``clerk.url``, ``sub``, ``sid``,
``iat``/``nbf``/``exp``, ``v``, ``azp`` only when an ``Origin`` header was sent; the JWKS is at
``/.well-known/jwks.json`` (``clerk.jwks_url``). ``clerk_support.py`` has pytest fixtures
(``clerk_fapi``, ``clerk_backend``: the real backend in Clerk mode) and ``NativeFapi``, a
minimal native client. State shapes: ``clerk_state.py``; handlers: ``clerk_flows.py`` (sign-in)
and ``clerk_sessions.py`` (sign-up transfer, tokens, sign-out, sign-in tokens).

Error codes used (Clerk's, in ``{errors: [{code, message, long_message, meta}]}``):
``form_identifier_not_found``, ``form_password_incorrect``, ``form_code_incorrect``,
``strategy_for_user_invalid`` (password for a user without one), ``form_param_value_invalid``
(strategy off at instance level, bad nonce), ``form_param_missing``, ``too_many_requests``,
``authentication_invalid`` (401: no/unknown/spent client JWT, ended session),
``resource_not_found``; ``fake_*`` codes are the fake's own (not Clerk's): a missing
``_is_native``, a JSON body, a sign-up other than an OAuth transfer.
Client Trust: ``needs_client_trust`` after a password from a client the user never completed
a sign-in on; ``prepare_second_factor strategy=email_code`` emails the code,
``attempt_second_factor strategy=email_code code=…`` completes. MFA: ``second_factor="totp"``
(code ``user.totp_code``) or ``"email_code"`` (prepare, then attempt).
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from backend.auth.dev_keys import DevKeyPair
from backend.runner import ThreadedServer, free_port
from tests.fakes.clerk_flows import _err
from tests.fakes.clerk_sessions import SessionFlows
from tests.fakes.clerk_state import ClerkError, Client, Instance, Session, SignIn, User, new_id

CLIENT = "client"  # the call needs the client JWT
CREATE = "create"  # the call makes a client when none is sent
OPTIONAL = "optional"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    authorization: str | None
    origin: str | None

    @property
    def api_version(self) -> str | None:
        return self.query.get("__clerk_api_version")


class FakeClerk(SessionFlows):
    def __init__(self, instance: Instance | None = None, host: str = "127.0.0.1") -> None:
        self.instance = instance or Instance()
        self.port = free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.jwks_url = f"{self.url}/.well-known/jwks.json"
        self.keys = DevKeyPair.generate(issuer=self.url)
        self.users: dict[str, User] = {}
        self.clients: dict[str, Client] = {}
        self.sessions: dict[str, Session] = {}
        self.sign_ins: dict[str, SignIn] = {}
        self.outbox: dict[str, list[str]] = defaultdict(list)
        self.requests: list[Recorded] = []
        self.minted: list[str] = []  # every session JWT handed out
        self._tokens: dict[str, list[Any]] = {}  # client JWT -> [client_id, uses left|None]
        self._current: dict[str, str] = {}  # client_id -> its newest client JWT
        self._last_jwt: dict[str, str] = {}
        self._tickets: dict[str, tuple[str, float]] = {}
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._server = ThreadedServer(self._build_app(), host, self.port)

    # -- test-side API ------------------------------------------------------------------
    def start(self) -> FakeClerk:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeClerk:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def last_code(self, email: str) -> str:
        return self.outbox[email.lower()][-1]

    def browser_approve(self, url: str, email: str) -> str:
        """The browser stand-in: open the OAuth page, approve as ``email``, return where the
        302 went (the app's ``redirect_url`` with ``rotating_token_nonce``)."""
        import httpx

        sep = "&" if "?" in url else "?"
        resp = httpx.get(f"{url}{sep}{urlencode({'approve': email})}", timeout=10)
        if resp.status_code != 302:
            raise AssertionError(f"OAuth page answered {resp.status_code}: {resp.text}")
        return resp.headers["location"]

    # -- the client JWT -----------------------------------------------------------------
    def _client_for(self, request: Request, mode: str) -> Client | None:
        header = request.headers.get("authorization", "").strip()
        token = header[7:].strip() if header.lower().startswith("bearer ") else header
        if not token:
            if mode == CLIENT:
                raise _err(401, "authentication_invalid", "No client token was sent.")
            if mode == CREATE:
                client = Client(new_id("client"))
                self.clients[client.id] = client
                return client
            return None
        state = self._tokens.get(token)
        if state is None or state[1] == 0:
            raise _err(401, "authentication_invalid", "The client token is invalid or used.")
        if state[1] is not None:
            state[1] -= 1
        return self.clients[state[0]]

    def _rotate(self, client: Client) -> str:
        old = self._current.get(client.id)
        if old and self._tokens[old][1] is None:
            self._tokens[old][1] = 1  # the previous JWT is accepted once more
        token = jwt.encode(
            {"id": client.id, "rotating_token": secrets.token_hex(16), "iat": int(time.time())},
            self.keys.private_key,
            algorithm="RS256",
            headers={"kid": self.keys.kid},
        )
        self._tokens[token] = [client.id, None]
        self._current[client.id] = token
        return token

    # -- HTTP plumbing ------------------------------------------------------------------
    async def _serve(self, request: Request, mode: str, handler: Any, **kw: Any) -> Response:
        form: dict[str, str] = {}
        if request.method in ("POST", "PATCH", "PUT"):
            ctype = request.headers.get("content-type", "")
            if ctype.startswith("application/json"):
                return JSONResponse(
                    _err(
                        400, "fake_form_body_required", "Clerk's FAPI takes form-encoded bodies."
                    ).body(),
                    400,
                )
            form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        self.requests.append(
            Recorded(
                request.method,
                request.url.path,
                dict(request.query_params),
                form,
                request.headers.get("authorization"),
                request.headers.get("origin"),
            )
        )
        client = None
        try:
            if request.query_params.get("_is_native") not in ("1", "true"):
                raise _err(400, "fake_native_flag_missing", "Send _is_native=1 (native client).")
            client = self._client_for(request, mode)
            status, body = handler(client, form, request, **kw)
            resp: Response = JSONResponse(body, status)
        except ClerkError as exc:
            resp = JSONResponse(exc.body(), exc.status, headers=exc.headers)
        if client is not None:
            resp.headers["Authorization"] = self._rotate(client)
            resp.headers["Access-Control-Expose-Headers"] = "Authorization"
        return resp

    def _endpoint(self, mode: str, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            return await self._serve(request, mode, handler, **request.path_params)

        return endpoint

    def _build_app(self) -> FastAPI:
        app = FastAPI()
        routes = [
            ("GET", "/v1/environment", OPTIONAL, self._environment),
            (
                "GET",
                "/v1/client",
                OPTIONAL,
                lambda c, f, r: self._wrap(c, c and c.resource(self.instance, self._last_jwt)),
            ),
            ("DELETE", "/v1/client", CLIENT, self._end_all),
            ("POST", "/v1/client/sign_ins", CREATE, self._create_sign_in),
            ("GET", "/v1/client/sign_ins/{sid}", CLIENT, self._get_sign_in),
            ("POST", "/v1/client/sign_ins/{sid}/prepare_first_factor", CLIENT, self._prepare1),
            ("POST", "/v1/client/sign_ins/{sid}/attempt_first_factor", CLIENT, self._attempt1),
            ("POST", "/v1/client/sign_ins/{sid}/prepare_second_factor", CLIENT, self._prepare2),
            ("POST", "/v1/client/sign_ins/{sid}/attempt_second_factor", CLIENT, self._attempt2),
            ("POST", "/v1/client/sign_ups", CLIENT, self._create_sign_up),
            ("POST", "/v1/client/sessions/{sid}/tokens", CLIENT, self._token),
            ("POST", "/v1/client/sessions/{sid}/end", CLIENT, self._end),
        ]
        for method, path, mode, handler in routes:
            app.add_api_route(path, self._endpoint(mode, handler), methods=[method])
        app.add_api_route("/.well-known/jwks.json", lambda: self.keys.jwks(), methods=["GET"])
        app.add_api_route("/v1/jwks", lambda: self.keys.jwks(), methods=["GET"])
        app.add_api_route("/_fake/oauth/{provider}", self._oauth_page, methods=["GET"])
        app.add_api_route("/v1/sign_in_tokens", self._bapi_sign_in_token, methods=["POST"])
        return app
