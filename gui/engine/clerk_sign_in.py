"""Signing in to Clerk's Frontend API as a native app: password, email code, Google or Apple
through the system browser, a ticket; second factors and Client Trust completed with a code.

``ClerkSignIn`` drives one sign-in at a time and saves its outcome in the ``SecretStore``
(keyed by Frontend API URL and Clerk user id); ``token_provider()`` then hands the engine a
:class:`ClerkTokenProvider` minting session JWTs from that saved sign-in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx

from gui.engine.clerk_oauth import LoopbackCallback, open_in_browser
from gui.engine.tokens import (
    CLERK_API_VERSION,
    ClerkAccount,
    ClerkFrontendApi,
    ClerkSignInError,
    SecretStore,
)

if TYPE_CHECKING:
    from gui.engine.clerk_tokens import ClerkTokenProvider

log = logging.getLogger(__name__)
SECOND_FACTOR_ORDER = ("totp", "phone_code", "email_code", "backup_code")
OAUTH_ONLY = (
    "This account has no password: continue with Google or Apple, or sign in with an email "
    "code instead."
)
FACTOR_WORDS = {
    "email_code": "the code we emailed to {dest}",
    "phone_code": "the code we texted to {dest}",
    "totp": "the code from your authenticator app",
    "backup_code": "one of your backup codes",
}


@dataclass(frozen=True)
class SignInStep:
    status: Literal["complete", "needs_code", "needs_password"]
    factor: str | None = None  # "email_code" | "totp" | "phone_code" | "backup_code"
    destination: str | None = None  # where the code went, e.g. "a***@example.com"
    message: str = ""  # a sentence for the UI
    purpose: str | None = None  # "first_factor" | "second_factor" | "client_trust"


def _who(user: dict[str, Any]) -> tuple[str, frozenset[str]]:
    emails = [e for e in user.get("email_addresses") or [] if isinstance(e, dict)]
    addresses = frozenset(str(e.get("email_address", "")).lower() for e in emails) - {""}
    primary = next(
        (
            e.get("email_address")
            for e in emails
            if e.get("id") == user.get("primary_email_address_id")
        ),
        None,
    )
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
    who = primary or (sorted(addresses)[0] if addresses else "") or name or user.get("username")
    return str(who or user.get("id") or ""), addresses


class ClerkSignIn:
    """One device's sign-in to one Clerk instance (see the module docstring)."""

    def __init__(
        self,
        frontend_api_url: str,
        store: SecretStore,
        *,
        client: httpx.AsyncClient | None = None,
        open_browser: Callable[[str], object] | None = None,
        api_version: str = CLERK_API_VERSION,
    ) -> None:
        self._base = frontend_api_url.rstrip("/")
        self._store = store
        self._http = client or httpx.AsyncClient(timeout=15.0)
        self._api = ClerkFrontendApi(self._base, store, self._http, api_version)
        self._open_browser = open_browser
        self._attempt: dict[str, Any] | None = None  # the sign-in in progress
        self._pending: tuple[str, str] | None = None  # (purpose, strategy) awaiting a code
        self._client: dict[str, Any] = {}  # the last Client object Clerk answered

    @property
    def who(self) -> str | None:
        account = self._api.load_account()
        return account.who if account else None

    def token_provider(self) -> ClerkTokenProvider:
        from gui.engine.clerk_tokens import ClerkTokenProvider  # it builds ClerkSignIns too

        return ClerkTokenProvider(
            self._base, store=self._store, client=self._http, api_version=self._api.api_version
        )

    async def with_password(self, identifier: str, password: str) -> SignInStep:
        form = {"strategy": "password", "identifier": identifier, "password": password}
        try:
            return await self._settle(await self._create(form))
        except ClerkSignInError as exc:
            if exc.code == "strategy_for_user_invalid":
                raise ClerkSignInError(exc.code, OAUTH_ONLY, status=exc.status) from exc
            raise

    async def with_email_code(self, identifier: str) -> SignInStep:
        attempt = await self._create({"identifier": identifier})
        factor = _factor(attempt.get("supported_first_factors"), "email_code")
        if factor is None:
            raise ClerkSignInError(
                "strategy_for_user_invalid",
                "Signing in with an email code is not available for this account: continue "
                "with Google or Apple, or use your password.",
            )
        form = {
            "strategy": "email_code",
            "email_address_id": str(factor.get("email_address_id", "")),
        }
        attempt = await self._call(
            f"/v1/client/sign_ins/{attempt['id']}/prepare_first_factor", form
        )
        self._pending = ("first_factor", "email_code")
        return _code_step("first_factor", "email_code", factor.get("safe_identifier") or identifier)

    async def submit_code(self, code: str) -> SignInStep:
        if self._attempt is None or self._pending is None:
            raise ClerkSignInError("no_pending_code", "No code is awaited; start signing in again.")
        purpose, strategy = self._pending
        which = "first" if purpose == "first_factor" else "second"
        path = f"/v1/client/sign_ins/{self._attempt['id']}/attempt_{which}_factor"
        return await self._settle(
            await self._call(path, {"strategy": strategy, "code": code.strip()})
        )

    async def password_enabled(self) -> bool:
        """Whether the instance signs in with passwords (Clerk's ``/v1/environment``); True
        when it cannot be asked, so nothing is hidden by a network hiccup."""
        try:
            environment = await self._api.request("GET", "/v1/environment")
        except ClerkSignInError as exc:
            log.info("Clerk's environment could not be read: %s", exc.message)
            return True
        attributes = (environment.get("user_settings") or {}).get("attributes") or {}
        password = attributes.get("password") or {}
        return bool(password.get("enabled", True)) if isinstance(password, dict) else True

    async def with_ticket(self, ticket: str) -> SignInStep:
        return await self._settle(await self._create({"strategy": "ticket", "ticket": ticket}))

    async def with_oauth(self, provider: str, timeout_s: float = 300) -> SignInStep:
        strategy = provider if provider.startswith("oauth_") else f"oauth_{provider}"
        listener = LoopbackCallback()
        redirect = await listener.start()
        try:
            form = {
                "strategy": strategy,
                "redirect_url": redirect,
                "action_complete_redirect_url": redirect,
            }
            attempt = await self._create(form)
            url = (attempt.get("first_factor_verification") or {}).get(
                "external_verification_redirect_url"
            )
            if not url:
                raise ClerkSignInError("oauth_unavailable", f"Clerk offered no {provider} page.")
            await open_in_browser(self._open_browser, url)
            try:
                params = await listener.wait(timeout_s)
            except TimeoutError as exc:
                raise ClerkSignInError(
                    "oauth_timeout",
                    f"The browser sign-in did not finish within "
                    f"{round(timeout_s)} seconds; try again.",
                ) from exc
        finally:
            await listener.close()
        return await self._oauth_callback(params)

    async def sign_out(self) -> None:
        account = self._api.load_account()
        if account is None:
            return
        try:
            await self._api.request(
                "POST", f"/v1/client/sessions/{account.session_id}/end", user_id=account.user_id
            )
        except ClerkSignInError as exc:  # already ended, or Clerk unreachable: forget anyway
            log.info("ending the Clerk session failed (%s); forgetting it locally", exc.code)
        finally:
            self._api.forget_account()
            self._attempt = self._pending = None

    async def _create(self, form: dict[str, str]) -> dict[str, Any]:
        self._attempt = self._pending = None
        return await self._call("/v1/client/sign_ins", form)

    async def _call(
        self,
        path: str,
        form: dict[str, str] | None = None,
        *,
        method: str = "POST",
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        data = await self._api.request(method, path, data=form, params=params)
        self._client = data.get("client") or {}
        attempt = data.get("response") or {}
        if attempt.get("object") == "sign_in_attempt":
            self._attempt = attempt
        return attempt

    async def _oauth_callback(self, params: dict[str, str]) -> SignInStep:
        if error := params.get("__clerk_error_code") or params.get("error"):
            raise ClerkSignInError(
                error,
                params.get("error_description") or "The browser sign-in was cancelled or refused.",
            )
        nonce = params.get("rotating_token_nonce")
        if self._attempt is None or not nonce:
            raise ClerkSignInError(
                "oauth_callback_invalid",
                "The browser sign-in came back without Clerk's answer; try again.",
            )
        attempt = await self._call(
            f"/v1/client/sign_ins/{self._attempt['id']}",
            method="GET",
            params={"rotating_token_nonce": nonce},
        )
        verification = attempt.get("first_factor_verification") or {}
        if verification.get("status") == "transferable":  # first time: become a sign-up
            sign_up = await self._call("/v1/client/sign_ups", {"transfer": "true"})
            if sign_up.get("status") != "complete" or not sign_up.get("created_session_id"):
                missing = ", ".join(sign_up.get("missing_fields") or []) or "more details"
                raise ClerkSignInError(
                    "sign_up_incomplete",
                    f"Creating your account needs {missing}; sign up on the website first.",
                )
            return self._complete(str(sign_up["created_session_id"]))
        if (error := verification.get("error")) and attempt.get("status") != "complete":
            raise ClerkSignInError(
                str(error.get("code", "oauth_failed")),
                str(error.get("long_message") or error.get("message")),
            )
        return await self._settle(attempt)

    async def _settle(self, attempt: dict[str, Any]) -> SignInStep:
        status = attempt.get("status")
        if status == "complete" and attempt.get("created_session_id"):
            return self._complete(str(attempt["created_session_id"]))
        if status in ("needs_second_factor", "needs_client_trust"):
            return await self._second_factor(attempt, status)
        if status == "needs_first_factor" and self._pending and self._pending[0] == "first_factor":
            return _code_step("first_factor", self._pending[1], attempt.get("identifier"))
        if status == "needs_first_factor" and _factor(
            attempt.get("supported_first_factors"), "password"
        ):
            return SignInStep("needs_password", message="Enter your password.")
        raise ClerkSignInError(
            f"unsupported_{status}",
            f"Sign-in needs a step ({status}) the "
            "desktop app does not support; sign in on the website first.",
        )

    async def _second_factor(self, attempt: dict[str, Any], status: str) -> SignInStep:
        purpose = "client_trust" if status == "needs_client_trust" else "second_factor"
        factors = [f for f in attempt.get("supported_second_factors") or [] if isinstance(f, dict)]
        order = ("email_code", "phone_code") if purpose == "client_trust" else SECOND_FACTOR_ORDER
        chosen = next((f for f in factors if f.get("default") and f.get("strategy") in order), None)
        chosen = chosen or next((f for s in order for f in factors if f.get("strategy") == s), None)
        if chosen is None:
            raise ClerkSignInError(
                "no_second_factor",
                "Clerk asks for a verification this app cannot do; sign in on the website first.",
            )
        strategy = str(chosen["strategy"])
        if strategy in ("email_code", "phone_code"):
            key = "email_address_id" if strategy == "email_code" else "phone_number_id"
            form = {"strategy": strategy, key: str(chosen.get(key, ""))}
            await self._call(f"/v1/client/sign_ins/{attempt['id']}/prepare_second_factor", form)
        self._pending = (purpose, strategy)
        return _code_step(purpose, strategy, chosen.get("safe_identifier"))

    def _complete(self, session_id: str) -> SignInStep:
        sessions = [s for s in self._client.get("sessions") or [] if isinstance(s, dict)]
        session = next((s for s in sessions if s.get("id") == session_id), None)
        user = (session or {}).get("user") or {}
        if not user.get("id"):
            raise ClerkSignInError("invalid_response", "Clerk did not say who signed in.")
        who, emails = _who(user)
        self._api.save_account(ClerkAccount(str(user["id"]), session_id, who, emails))
        self._attempt = self._pending = None
        return SignInStep("complete", message=f"Signed in as {who}.")


def _factor(factors: object, strategy: str) -> dict[str, Any] | None:
    found = [f for f in factors or [] if isinstance(f, dict) and f.get("strategy") == strategy]
    return next((f for f in found if f.get("primary")), found[0] if found else None)


def _code_step(purpose: str, factor: str, destination: object) -> SignInStep:
    dest = str(destination) if destination else None
    what = FACTOR_WORDS.get(factor, "the code").format(dest=dest or "your email")
    lead = "This device is new to your account: enter " if purpose == "client_trust" else "Enter "
    return SignInStep("needs_code", factor, dest, f"{lead}{what}.", purpose)
