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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import jwt

if TYPE_CHECKING:  # defined in clerk_tokens; see __getattr__ below
    from gui.engine.clerk_tokens import ClerkTokenProvider as ClerkTokenProvider

log = logging.getLogger(__name__)
REFRESH_MARGIN_S = 10.0
KEYRING_SERVICE = "imagegen-desktop"
# The Frontend API version this client speaks (clerk/openapi-specs fapi/2026-05-12.yml).
CLERK_API_VERSION = "2026-05-12"


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


class CachedToken:
    """A token with its expiry, refreshed under a lock so concurrent callers share one fetch."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self.lock = asyncio.Lock()  # held by the provider while it fetches

    def fresh(self) -> str | None:
        if self._token and self._clock() < self._expires_at - REFRESH_MARGIN_S:
            return self._token
        return None

    def set(self, token: str, ttl_s: float) -> None:
        self._token, self._expires_at = token, self._clock() + ttl_s

    def clear(self) -> None:
        self._token, self._expires_at = None, 0.0


def ttl_from_jwt(token: str, default: float) -> float:
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
        self._cache = CachedToken(clock)

    async def token(self, force_refresh: bool = False) -> str:
        if not force_refresh and (cached := self._cache.fresh()):
            return cached
        async with self._cache.lock:
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


class ClerkSignInError(SignInError):
    """Clerk refused: ``code`` is Clerk's error code, ``message`` Clerk's own sentence;
    ``retry_after_s`` is set when Clerk asked to wait (HTTP 429)."""

    def __init__(
        self,
        code: str,
        message: str,
        retry_after_s: float | None = None,
        *,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.retry_after_s, self.status = (
            code,
            message,
            retry_after_s,
            status,
        )


class ClerkUnreachable(ClerkSignInError, SignInUnreachable):
    """Clerk did not answer (worth retrying)."""


def _wait_sentence(seconds: float | None) -> str:
    if seconds is None:
        return "Too many sign-in attempts; wait a moment and try again."
    whole = max(1, round(seconds))
    return (
        f"Too many sign-in attempts; wait {whole} second{'s' if whole != 1 else ''} and try again."
    )


def clerk_error(resp: httpx.Response) -> ClerkSignInError:
    """A Frontend API error answer as a ClerkSignInError in Clerk's words."""
    code, message = "unknown", _message(resp)
    try:
        errors = resp.json().get("errors") or []
        if errors and isinstance(errors[0], dict):
            code = str(errors[0].get("code") or code)
    except (ValueError, AttributeError):
        pass
    if resp.status_code == 429:
        try:
            retry = float(resp.headers.get("retry-after", ""))
        except ValueError:
            retry = None
        code = code if code != "unknown" else "too_many_requests"
        return ClerkSignInError(code, _wait_sentence(retry), retry, status=429)
    return ClerkSignInError(code, message, status=resp.status_code)


@dataclass(frozen=True)
class ClerkAccount:
    user_id: str
    session_id: str
    who: str
    emails: frozenset[str]


class ClerkFrontendApi:
    """Clerk's Frontend API as a native client: ``_is_native=1`` and ``__clerk_api_version``
    on every request, form bodies, the client JWT in ``Authorization`` — saved from every
    answer, since Clerk rotates it. Keys: ``clerk:<url>:current`` names the signed-in user;
    ``clerk:<url>:<user id>:client|session|who|emails`` hold that user's sign-in;
    ``clerk:<url>:client`` is this device's client token while nobody is signed in."""

    def __init__(
        self, base: str, store: SecretStore, client: httpx.AsyncClient, api_version: str
    ) -> None:
        self.base, self.store, self.http, self.api_version = base, store, client, api_version
        self.prefix = f"clerk:{base}"

    def _client_key(self, user_id: str | None) -> str:
        return f"{self.prefix}:{user_id}:client" if user_id else f"{self.prefix}:client"

    def client_token(self, user_id: str | None) -> str | None:
        return self.store.get(self._client_key(user_id))

    async def request(
        self,
        method: str,
        path: str,
        *,
        data: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        query = {"_is_native": "1", "__clerk_api_version": self.api_version, **(params or {})}
        headers = {"Authorization": token} if (token := self.client_token(user_id)) else {}
        try:
            resp = await self.http.request(
                method, self.base + path, params=query, data=data, headers=headers
            )
        except httpx.HTTPError as exc:
            raise ClerkUnreachable("network", f"Clerk could not be reached ({exc}).") from exc
        if rotated := resp.headers.get("authorization"):
            self.store.set(self._client_key(user_id), rotated)
        if resp.status_code >= 400:
            raise clerk_error(resp)
        try:
            data_out = resp.json()
        except ValueError as exc:
            raise ClerkSignInError(
                "invalid_response",
                "Clerk answered something that is not JSON.",
                status=resp.status_code,
            ) from exc
        return data_out if isinstance(data_out, dict) else {}

    def load_account(self) -> ClerkAccount | None:
        user_id = self.store.get(f"{self.prefix}:current")
        if not user_id:
            return None
        key = f"{self.prefix}:{user_id}"
        session_id = self.store.get(key + ":session")
        if not session_id or not self.client_token(user_id):
            return None
        emails = self.store.get(key + ":emails") or ""
        return ClerkAccount(
            user_id,
            session_id,
            self.store.get(key + ":who") or user_id,
            frozenset(e for e in emails.lower().split(",") if e),
        )

    def save_account(self, account: ClerkAccount) -> None:
        """Make ``account`` the signed-in one; the device's client token moves to it."""
        key = f"{self.prefix}:{account.user_id}"
        device = self.client_token(None)
        if device:
            self.store.set(key + ":client", device)
            self.store.delete(self._client_key(None))
        self.store.set(key + ":session", account.session_id)
        self.store.set(key + ":who", account.who)
        self.store.set(key + ":emails", ",".join(sorted(account.emails)))
        self.store.set(f"{self.prefix}:current", account.user_id)

    def forget_account(self) -> None:
        """Forget who is signed in; the client token stays as this device's (Clerk then
        knows the device at the next sign-in, so Client Trust asks no code)."""
        user_id = self.store.get(f"{self.prefix}:current")
        if not user_id:
            return
        key = f"{self.prefix}:{user_id}"
        if token := self.client_token(user_id):
            self.store.set(self._client_key(None), token)
        for suffix in (":client", ":session", ":who", ":emails"):
            self.store.delete(key + suffix)
        self.store.delete(f"{self.prefix}:current")


def __getattr__(name: str) -> Any:
    # ClerkTokenProvider lives beside the sign-in flows; imported lazily (no import cycle).
    if name == "ClerkTokenProvider":
        from gui.engine.clerk_tokens import ClerkTokenProvider

        return ClerkTokenProvider
    raise AttributeError(name)


def needs_sign_in(tokens: TokenProvider) -> bool:
    """True when ``tokens`` is a Clerk provider with no stored sign-in yet."""
    return getattr(tokens, "signed_in", True) is False
