"""The engine's tokens for a Clerk sign-in: session JWTs minted from what ClerkSignIn saved
(``/v1/client/sessions/{sid}/tokens``), refreshed shortly before they expire."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from gui.engine.clerk_sign_in import ClerkSignIn
from gui.engine.tokens import (
    CLERK_API_VERSION,
    CachedToken,
    ClerkAccount,
    ClerkFrontendApi,
    ClerkSignInError,
    KeyringStore,
    SecretStore,
    SignInError,
    SignInUnreachable,
    ttl_from_jwt,
)


class ClerkTokenProvider:
    """The engine's tokens from the sign-in ClerkSignIn saved: session JWTs minted through
    ``/v1/client/sessions/{sid}/tokens``, refreshed before they expire. ``email`` is only a
    hint: a hint that is none of the saved user's addresses reads as "not signed in"."""

    def __init__(
        self,
        frontend_api_url: str,
        email: str | None = None,
        *,
        store: SecretStore | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        api_version: str = CLERK_API_VERSION,
    ) -> None:
        self._base = frontend_api_url.rstrip("/")
        self._email = email
        self._store = store or KeyringStore()
        self._client = client or httpx.AsyncClient(timeout=15.0)
        self._api = ClerkFrontendApi(self._base, self._store, self._client, api_version)
        self._cache = CachedToken(clock)

    @property
    def frontend_api_url(self) -> str:
        return self._base

    def sign_in_flow(self, open_browser: Callable[[str], object] | None = None) -> ClerkSignIn:
        """A ClerkSignIn saving into this provider's store, so what it signs in is what
        this provider mints tokens for (the Settings dialog of a running app)."""
        self._cache.clear()  # a new sign-in: the old user's token must not be used
        return ClerkSignIn(
            self._base,
            self._store,
            client=self._client,
            open_browser=open_browser,
            api_version=self._api.api_version,
        )

    def _account(self) -> ClerkAccount | None:
        account = self._api.load_account()
        if account is None:
            return None
        if self._email and self._email.strip().lower() not in account.emails:
            return None
        return account

    @property
    def signed_in(self) -> bool:
        return self._account() is not None

    @property
    def email(self) -> str:
        """Who this provider signs in as: the saved account's email, else the hint."""
        account = self._account()
        return account.who if account else (self._email or "")

    def matches(self, frontend_api_url: str, email: str | None = None) -> bool:
        """Whether this provider is for ``frontend_api_url`` (and, given, ``email``)."""
        if frontend_api_url.rstrip("/") != self._base:
            return False
        if not email:
            return True
        account = self._account()
        wanted = email.strip().lower()
        return wanted in account.emails if account else wanted == (self._email or "").lower()

    async def sign_in(self, password: str) -> None:
        """Password sign-in for the email hint (kept for callers that only know passwords);
        a step that needs a code raises with a sentence saying so."""
        flow = ClerkSignIn(
            self._base, self._store, client=self._client, api_version=self._api.api_version
        )
        try:
            step = await flow.with_password(self._email or "", password)
        except ClerkSignInError as exc:
            raise ClerkSignInError(
                exc.code, f"Sign-in failed: {exc.message}", exc.retry_after_s, status=exc.status
            ) from exc
        if step.status != "complete":
            raise SignInError(f"{step.message} Enter the code in the Settings dialog.")
        self._cache.clear()

    def sign_out(self) -> None:
        """Forget the sign-in on this device (``ClerkSignIn.sign_out`` also ends it at Clerk)."""
        self._api.forget_account()
        self._cache.clear()

    async def token(self, force_refresh: bool = False) -> str:
        if not force_refresh and (cached := self._cache.fresh()):
            return cached
        async with self._cache.lock:
            if not force_refresh and (cached := self._cache.fresh()):
                return cached
            account = self._account()
            if account is None:
                raise SignInError(
                    f"Sign in as {self._email} first." if self._email else "Sign in first."
                )
            try:
                data = await self._api.request(
                    "POST",
                    f"/v1/client/sessions/{account.session_id}/tokens",
                    user_id=account.user_id,
                )
            except ClerkSignInError as exc:
                if exc.status in (401, 404):
                    self.sign_out()  # the session ended on Clerk's side: sign in again
                    raise SignInError("Your session has ended; sign in again.") from exc
                if isinstance(exc, SignInUnreachable):
                    raise
                raise SignInError(f"Clerk refused a session token: {exc.message}") from exc
            token = str(data["jwt"])
            self._cache.set(token, ttl_from_jwt(token, default=60.0))
            return token
