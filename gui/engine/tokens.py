"""Where the Bearer token comes from: the embedded backend, a static token, or Clerk.

Every provider caches its token and refreshes it shortly before it expires, so callers ask
for ``await provider.token()`` before each request and ``token(force_refresh=True)`` once
after a 401.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx
import jwt

log = logging.getLogger(__name__)
REFRESH_MARGIN_S = 10.0
KEYRING_SERVICE = "imagegen-desktop"


class SignInError(Exception):
    """Signing in failed; the message is a sentence for the user."""


class SignInUnreachable(SignInError):
    """A token could not be fetched because its server did not answer: like any network
    error it is worth retrying (the HTTP clients turn it into one), never a refusal."""


class TokenProvider(Protocol):
    async def token(self, force_refresh: bool = False) -> str: ...


class StaticTokenProvider:
    """A token given by the environment or the CLI; it cannot be refreshed."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, force_refresh: bool = False) -> str:
        return self._token


class _CachedToken:
    """A token with its expiry, refreshed under a lock so concurrent callers share one fetch."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def fresh(self) -> str | None:
        if self._token and self._clock() < self._expires_at - REFRESH_MARGIN_S:
            return self._token
        return None

    def set(self, token: str, ttl_s: float) -> None:
        self._token, self._expires_at = token, self._clock() + ttl_s


def _ttl_from_jwt(token: str, default: float) -> float:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        return max(0.0, float(claims["exp"]) - time.time())
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return default


class EmbeddedTokenProvider:
    """Tokens from the embedded backend's ``POST /api/dev/token`` (no account needed)."""

    def __init__(
        self,
        api_base_url: str,
        user_id: str | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = api_base_url.rstrip("/") + "/api/dev/token"
        self._user_id = user_id
        self._client = client or httpx.AsyncClient(timeout=10.0)
        self._cache = _CachedToken(clock)

    async def token(self, force_refresh: bool = False) -> str:
        if not force_refresh and (cached := self._cache.fresh()):
            return cached
        async with self._cache._lock:
            if not force_refresh and (cached := self._cache.fresh()):
                return cached
            body = {"userId": self._user_id} if self._user_id else {}
            try:
                resp = await self._client.post(self._url, json=body)
            except httpx.HTTPError as exc:
                raise SignInUnreachable(f"The local backend could not be reached ({exc}).") from exc
            if resp.status_code != 200:
                raise SignInError(f"The local backend refused a sign-in token: {_message(resp)}")
            data = resp.json()
            self._cache.set(data["token"], float(data.get("expiresIn", 60)))
            return str(data["token"])


def _message(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}."
    if isinstance(data, dict):
        if isinstance(data.get("error"), str):
            return data["error"]
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return str(first.get("long_message") or first.get("message") or first)
    return f"HTTP {resp.status_code}."


class SecretStore(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...
    def delete(self, key: str) -> None: ...


class KeyringStore:
    """The OS keyring when one is available; otherwise secrets live only in memory."""

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self._service = service
        self._memory: dict[str, str] = {}

    def _keyring(self) -> Any | None:
        try:
            import keyring
            from keyring.backends.fail import Keyring as FailKeyring

            return None if isinstance(keyring.get_keyring(), FailKeyring) else keyring
        except Exception:  # no backend, broken D-Bus, ...: fall back to memory
            return None

    def get(self, key: str) -> str | None:
        kr = self._keyring()
        if kr is not None:
            try:
                return kr.get_password(self._service, key)
            except Exception as exc:
                log.warning("keyring read failed: %s", exc)
        return self._memory.get(key)

    def set(self, key: str, value: str) -> None:
        self._memory[key] = value
        kr = self._keyring()
        if kr is not None:
            try:
                kr.set_password(self._service, key, value)
            except Exception as exc:
                log.warning("keyring write failed: %s", exc)

    def delete(self, key: str) -> None:
        self._memory.pop(key, None)
        kr = self._keyring()
        if kr is not None:
            try:
                kr.delete_password(self._service, key)
            except Exception:  # absent already: nothing to delete
                pass


class ClerkTokenProvider:
    """Clerk's Frontend API as a native client: sign in with email + password once, then
    mint 60 s session JWTs from the stored client token, refreshed before they expire.

    The client token (Clerk's long-lived device credential, the ``Authorization`` header of
    native responses) and the session id are kept in the OS keyring when there is one.
    """

    def __init__(
        self,
        frontend_api_url: str,
        email: str,
        *,
        store: SecretStore | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base = frontend_api_url.rstrip("/")
        self._email = email
        self._store = store or KeyringStore()
        self._client = client or httpx.AsyncClient(timeout=15.0)
        self._cache = _CachedToken(clock)

    @property
    def _key(self) -> str:
        return f"clerk:{self._base}:{self._email}"

    def _saved(self) -> tuple[str, str] | None:
        client_token = self._store.get(self._key + ":client")
        session_id = self._store.get(self._key + ":session")
        return (client_token, session_id) if client_token and session_id else None

    @property
    def signed_in(self) -> bool:
        return self._saved() is not None

    @property
    def email(self) -> str:
        return self._email

    def matches(self, frontend_api_url: str, email: str) -> bool:
        """Whether this provider signs in as ``email`` at ``frontend_api_url``."""
        return (self._base, self._email) == (frontend_api_url.rstrip("/"), email)

    async def sign_in(self, password: str) -> None:
        """Sign in with the email and ``password``; raises SignInError with Clerk's reason."""
        try:
            resp = await self._client.post(
                f"{self._base}/v1/client/sign_ins",
                params={"_is_native": "1"},
                data={"strategy": "password", "identifier": self._email, "password": password},
            )
        except httpx.HTTPError as exc:
            raise SignInError(f"Clerk could not be reached ({exc}).") from exc
        if resp.status_code >= 400:
            raise SignInError(f"Sign-in failed: {_message(resp)}")
        data = resp.json()
        attempt = data.get("response") or {}
        session_id = attempt.get("created_session_id")
        if attempt.get("status") != "complete" or not session_id:
            raise SignInError(
                "Sign-in needs another step (such as a verification code) that the desktop "
                "app does not support yet; use a token instead."
            )
        client_token = resp.headers.get("authorization")
        if not client_token:
            raise SignInError("Clerk did not return a client token for this device.")
        self._store.set(self._key + ":client", client_token)
        self._store.set(self._key + ":session", session_id)

    def sign_out(self) -> None:
        self._store.delete(self._key + ":client")
        self._store.delete(self._key + ":session")

    async def token(self, force_refresh: bool = False) -> str:
        if not force_refresh and (cached := self._cache.fresh()):
            return cached
        async with self._cache._lock:
            if not force_refresh and (cached := self._cache.fresh()):
                return cached
            saved = self._saved()
            if saved is None:
                raise SignInError(f"Sign in as {self._email} first.")
            client_token, session_id = saved
            try:
                resp = await self._client.post(
                    f"{self._base}/v1/client/sessions/{session_id}/tokens",
                    params={"_is_native": "1"},
                    headers={"Authorization": client_token},
                )
            except httpx.HTTPError as exc:
                raise SignInUnreachable(f"Clerk could not be reached ({exc}).") from exc
            if resp.status_code in (401, 404):
                self.sign_out()  # the session ended on Clerk's side: sign in again
                raise SignInError("Your session has ended; sign in again.")
            if resp.status_code >= 400:
                raise SignInError(f"Clerk refused a session token: {_message(resp)}")
            token = str(resp.json()["jwt"])
            self._cache.set(token, _ttl_from_jwt(token, default=60.0))
            return token


def needs_sign_in(tokens: TokenProvider) -> bool:
    """True when ``tokens`` is a Clerk provider with no stored sign-in yet."""
    return isinstance(tokens, ClerkTokenProvider) and not tokens.signed_in
