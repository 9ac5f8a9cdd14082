"""The fake Clerk Frontend API's state: instance, users, clients, sign-ins, sessions.

Objects are serialised in the shapes of Clerk's FAPI specification (clerk/openapi-specs
``fapi/2026-05-12.yml``: ``Client.Client``, ``Client.SignIn``, ``Client.Session``,
``Stubs.SignInFactor``, ``Stubs.Verification.*``). Only the fields a native client reads
are filled in; see ``clerk_fapi.py`` for the HTTP side.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

OAUTH_PROVIDERS = ("google", "apple")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def now_ms() -> int:
    return int(time.time() * 1000)


class ClerkError(Exception):
    """An error answered as ``{errors: [{code, message, long_message, meta}]}``."""

    def __init__(
        self, status: int, code: str, message: str, long_message: str = "", **meta: Any
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.long_message = long_message or message
        self.meta = meta
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        error = {
            "code": self.code,
            "message": self.message,
            "long_message": self.long_message,
            "meta": self.meta,
        }
        return {"errors": [error], "clerk_trace_id": secrets.token_hex(8)}


@dataclass
class Instance:
    """What the Clerk dashboard would configure."""

    password_enabled: bool = True
    email_code_enabled: bool = True
    oauth_providers: tuple[str, ...] = OAUTH_PROVIDERS
    client_trust: bool = False  # Clerk's default for apps created after 2025-11-14 is on
    sign_in_limit: int = 5  # POST /v1/client/sign_ins per IP per window; 0 = off
    sign_in_window_s: float = 10.0
    session_token_ttl_s: int = 60
    secret_key: str = "sk_test_fake_clerk_secret"


@dataclass
class User:
    id: str
    email: str
    password: str | None = None
    oauth: tuple[str, ...] = ()  # providers linked, e.g. ("google",)
    second_factor: str | None = None  # None | "totp" | "email_code"
    totp_code: str = "424242"  # what the user's authenticator app shows
    first_name: str = "Test"
    last_name: str = "User"
    email_id: str = field(default_factory=lambda: new_id("idn"))

    def public(self) -> dict[str, Any]:
        return {
            "identifier": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "image_url": "",
            "has_image": False,
            "user_id": self.id,
        }

    def resource(self) -> dict[str, Any]:
        email = {
            "object": "email_address",
            "id": self.email_id,
            "email_address": self.email,
            "verification": {"status": "verified", "strategy": "email_code"},
        }
        return {
            "object": "user",
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "primary_email_address_id": self.email_id,
            "email_addresses": [email],
            "password_enabled": self.password is not None,
            "two_factor_enabled": self.second_factor is not None,
            "totp_enabled": self.second_factor == "totp",
            "external_accounts": [
                {"object": "external_account", "provider": p, "email_address": self.email}
                for p in self.oauth
            ],
        }


@dataclass
class Session:
    id: str
    user: User
    client_id: str
    status: str = "active"
    created_at: int = field(default_factory=now_ms)

    def resource(self, last_jwt: str | None = None) -> dict[str, Any]:
        token = {"object": "token", "jwt": last_jwt} if last_jwt else None
        return {
            "object": "session",
            "id": self.id,
            "status": self.status,
            "expire_at": self.created_at + 7 * 86400_000,
            "abandon_at": self.created_at + 30 * 86400_000,
            "last_active_at": now_ms(),
            "last_active_organization_id": None,
            "last_active_token": token,
            "actor": None,
            "user": self.user.resource(),
            "public_user_data": self.user.public(),
            "factor_verification_age": [0, -1],
            "created_at": self.created_at,
            "updated_at": now_ms(),
        }


@dataclass
class SignIn:
    id: str
    client_id: str
    user: User | None = None
    status: str = "needs_identifier"
    identifier: str | None = None
    first: dict[str, Any] | None = None  # first_factor_verification
    second: dict[str, Any] | None = None
    second_factors: list[dict[str, Any]] | None = None
    created_session_id: str | None = None
    client_trust_state: str | None = None
    redirect_url: str | None = None
    nonce: str | None = None  # rotating_token_nonce handed to the browser, single use
    pending: dict[str, Any] | None = None  # the OAuth outcome, applied when the nonce is
    codes: dict[str, str] = field(default_factory=dict)  # strategy-slot -> emailed code

    def resource(self, instance: Instance) -> dict[str, Any]:
        return {
            "object": "sign_in_attempt",
            "id": self.id,
            "status": self.status,
            "supported_identifiers": ["email_address"],
            "supported_first_factors": first_factors(self.user, instance),
            "supported_second_factors": self.second_factors,
            "first_factor_verification": self.first,
            "second_factor_verification": self.second,
            "identifier": self.identifier,
            "user_data": (
                {
                    "first_name": self.user.first_name,
                    "last_name": self.user.last_name,
                    "image_url": "",
                    "has_image": False,
                }
                if self.user
                else None
            ),
            "created_session_id": self.created_session_id,
            "client_trust_state": self.client_trust_state,
            "abandon_at": now_ms() + 86400_000,
        }


@dataclass
class SignUp:
    id: str
    email: str
    status: str = "complete"
    created_user_id: str | None = None
    created_session_id: str | None = None

    def resource(self) -> dict[str, Any]:
        return {
            "object": "sign_up_attempt",
            "id": self.id,
            "status": self.status,
            "required_fields": [],
            "optional_fields": [],
            "missing_fields": [],
            "unverified_fields": [],
            "verifications": {
                "external_account": {"status": "verified", "strategy": "oauth_google"}
            },
            "email_address": self.email,
            "created_user_id": self.created_user_id,
            "created_session_id": self.created_session_id,
            "abandon_at": now_ms(),
        }


@dataclass
class Client:
    id: str
    sessions: list[Session] = field(default_factory=list)
    sign_in: SignIn | None = None
    sign_up: SignUp | None = None
    last_strategy: str | None = None
    known_users: set[str] = field(default_factory=set)  # Client Trust: seen on this client
    created_at: int = field(default_factory=now_ms)

    def active_sessions(self) -> list[Session]:
        return [s for s in self.sessions if s.status == "active"]

    def resource(self, instance: Instance, jwts: dict[str, str]) -> dict[str, Any]:
        active = self.active_sessions()
        return {
            "object": "client",
            "id": self.id,
            "sessions": [s.resource(jwts.get(s.id)) for s in active],
            "sign_in": self.sign_in.resource(instance) if self.sign_in else None,
            "sign_up": self.sign_up.resource() if self.sign_up else None,
            "last_active_session_id": active[-1].id if active else None,
            "last_authentication_strategy": self.last_strategy,
            "cookie_expires_at": None,
            "captcha_bypass": False,
            "created_at": self.created_at,
            "updated_at": now_ms(),
        }


def first_factors(user: User | None, instance: Instance) -> list[dict[str, Any]]:
    if user is None:
        return []
    factors: list[dict[str, Any]] = []
    if instance.password_enabled and user.password is not None:
        factors.append({"strategy": "password"})
    if instance.email_code_enabled:
        factors.append(
            {
                "strategy": "email_code",
                "safe_identifier": user.email,
                "email_address_id": user.email_id,
                "primary": True,
            }
        )
    factors += [{"strategy": f"oauth_{p}"} for p in instance.oauth_providers if p in user.oauth]
    return factors


def second_factor_stub(user: User, client_trust: bool) -> list[dict[str, Any]]:
    if client_trust or user.second_factor == "email_code":
        return [
            {
                "strategy": "email_code",
                "safe_identifier": user.email,
                "email_address_id": user.email_id,
            }
        ]
    return [{"strategy": "totp"}]


def verification(strategy: str, status: str = "unverified", **extra: Any) -> dict[str, Any]:
    kind = {
        "password": "verification_password",
        "ticket": "verification_ticket",
        "totp": "verification_totp",
    }.get(strategy, "verification_otp")
    if strategy.startswith("oauth_"):
        kind = "verification_oauth"
    return {
        "object": kind,
        "status": status,
        "strategy": strategy,
        "attempts": None,
        "expire_at": now_ms() + 600_000,
        **extra,
    }
