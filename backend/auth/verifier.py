"""RS256 JWT verification against a JWKS (Clerk's, or the embedded backend's own keys).

Only RS256 is accepted: ``alg: none`` and HMAC algorithms are refused before any key is
looked up, so a public key can never be abused as an HMAC secret.

A token verified once is remembered until it expires: a client sends the same token with
every call for its whole life (Clerk's: 60 s), and verifying it each time — PyJWT checks
each of its ~800 characters in Python, then the RSA signature — was ~1 ms of every call.
The cache is keyed by the whole token, signature included, so only that exact string
matches; it ends at the token's ``exp`` (plus the leeway), like the token.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
from cachetools import TLRUCache
from jwt import PyJWKClient

from backend.auth.dev_keys import DevKeyPair
from backend.auth.identity import Identity
from backend.errors import ApiError

ALGORITHM = "RS256"
LEEWAY_S = 5.0
JWKS_CACHE_S = 300.0
# Tokens remembered at once (a few per signed-in device; old ones fall out first).
VERIFIED_TOKENS = 10_000

KeyResolver = Callable[[str, dict[str, Any]], Any]
# header -> the key, when it is known without fetching anything; None otherwise.
KnownKey = Callable[[dict[str, Any]], Any | None]


def unauthorized(reason: str) -> ApiError:
    return ApiError(401, "unauthorized", f"Sign in again: {reason}")


class JwtVerifier:
    """Verifies a bearer token and returns the caller's :class:`Identity`."""

    def __init__(
        self,
        resolve_key: KeyResolver,
        *,
        issuer: str | None = None,
        authorized_parties: tuple[str, ...] = (),
        leeway_s: float = LEEWAY_S,
        known_key: KnownKey | None = None,
    ) -> None:
        # resolve_key(token, header) -> verification key; raises ApiError when unknown.
        # It may block (a JWKS fetch); known_key never does.
        self._resolve_key = resolve_key
        self._known_key = known_key
        self.issuer = issuer
        self.authorized_parties = tuple(authorized_parties)
        self.leeway_s = leeway_s
        # token -> its Identity, until exp + leeway (wall clock, as ``exp`` is). Verified
        # in worker threads and read on the event loop: one lock around it.
        self._verified: TLRUCache[str, Identity] = TLRUCache(
            VERIFIED_TOKENS, self._valid_until, timer=time.time
        )
        self._lock = threading.Lock()
        # token -> its verification under way (one per token, however many calls bring it).
        self._pending: dict[str, asyncio.Task[Identity]] = {}

    def _valid_until(self, _token: str, identity: Identity, _now: float) -> float:
        return float(identity.claims["exp"]) + self.leeway_s

    def cached(self, token: str) -> Identity | None:
        """The identity of a token verified before and not expired since; None otherwise
        (then ``verify`` it)."""
        with self._lock:
            return self._verified.get(token)

    @classmethod
    def from_jwks_url(
        cls, url: str, issuer: str | None = None, authorized_parties: tuple[str, ...] = ()
    ) -> JwtVerifier:
        # PyJWKClient caches the key set and refetches (rate-limited) on an unknown kid,
        # which is how key rotation at Clerk is picked up.
        client = PyJWKClient(url, cache_keys=True, lifespan=JWKS_CACHE_S, timeout=10)
        # kid -> (key, when it was fetched): keys known without asking PyJWKClient, whose
        # lookup may fetch (and block) when its cache has expired.
        fetched: dict[str, tuple[Any, float]] = {}

        def resolve(token: str, _header: dict[str, Any]) -> Any:
            try:
                signing_key = client.get_signing_key_from_jwt(token)
            except jwt.PyJWKClientConnectionError as exc:
                raise ApiError(
                    503,
                    "auth_unavailable",
                    "The sign-in service could not be reached. Please try again shortly.",
                ) from exc
            except (jwt.PyJWKClientError, jwt.PyJWKError, jwt.DecodeError) as exc:
                raise unauthorized("the token was signed by an unknown key.") from exc
            if signing_key.key_id:
                fetched[signing_key.key_id] = (signing_key.key, time.monotonic())
            return signing_key.key

        def known(header: dict[str, Any]) -> Any | None:
            key, at = fetched.get(str(header.get("kid", "")), (None, 0.0))
            return key if time.monotonic() - at < JWKS_CACHE_S else None

        return cls(
            resolve, issuer=issuer, authorized_parties=tuple(authorized_parties), known_key=known
        )

    @classmethod
    def from_dev_keys(
        cls, keys: DevKeyPair, authorized_parties: tuple[str, ...] = ()
    ) -> JwtVerifier:
        public_keys = {keys.kid: keys.private_key.public_key()}

        def resolve(_token: str, header: dict[str, Any]) -> Any:
            key = public_keys.get(str(header.get("kid", "")))
            if key is None:
                raise unauthorized("the token was signed by an unknown key.")
            return key

        return cls(
            resolve,
            issuer=keys.issuer,
            authorized_parties=tuple(authorized_parties),
            known_key=lambda header: public_keys.get(str(header.get("kid", ""))),
        )

    async def verify_once(self, token: str) -> Identity:
        """``verify`` from the event loop, as cheaply as it can be.

        A token verified before answers at once. One signed by a key known without a
        fetch (the embedded keys; a JWKS key fetched within ``JWKS_CACHE_S``) is verified
        right here: ~1 ms of CPU, less than a worker thread's hand-off costs under load.
        Otherwise (a JWKS fetch blocks inside PyJWKClient) it is verified in a worker
        thread, once, however many calls bring it at the same time: a client's first calls
        come together (each load-run user's three generate calls) and each verified the
        same token anew."""
        if (known := self.cached(token)) is not None:
            return known
        if self._known_key is not None and token and isinstance(token, str):
            key = self._known_key(self._header(token))
            if key is not None:
                return self._remember(token, self._verify_now(token, key))
        loop = asyncio.get_running_loop()
        task = self._pending.get(token)
        if task is None or task.get_loop() is not loop:
            task = loop.create_task(asyncio.to_thread(self.verify, token), name="verify-token")
            self._pending[token] = task
            task.add_done_callback(lambda done: self._verified_one(token, done))
        # Shielded: a caller that hangs up must not cancel the others' verification.
        return await asyncio.shield(task)

    def _verified_one(self, token: str, task: asyncio.Task[Identity]) -> None:
        if self._pending.get(token) is task:
            del self._pending[token]
        if not task.cancelled():
            task.exception()  # retrieved: callers that all left must not leave it unlogged

    def verify(self, token: str) -> Identity:
        if not token or not isinstance(token, str):
            raise unauthorized("no token was sent.")
        if (known := self.cached(token)) is not None:
            return known
        return self._remember(token, self._verify_now(token))

    def _remember(self, token: str, identity: Identity) -> Identity:
        with self._lock:
            self._verified[token] = identity
        return identity

    @staticmethod
    def _header(token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthorized("the token is malformed.") from exc
        if header.get("alg") != ALGORITHM:
            raise unauthorized("the token uses an unsupported signing algorithm.")
        return header

    def _verify_now(self, token: str, key: Any = None) -> Identity:
        if key is None:
            key = self._resolve_key(token, self._header(token))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ApiError(401, "token_expired", "Sign in again: your session expired.") from exc
        except jwt.ImmatureSignatureError as exc:
            raise unauthorized("the token is not valid yet.") from exc
        except jwt.InvalidIssuerError as exc:
            raise unauthorized("the token was issued by someone else.") from exc
        except jwt.InvalidSignatureError as exc:
            raise unauthorized("the token signature does not match.") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise unauthorized(f"the token has no '{exc.claim}' claim.") from exc
        except jwt.PyJWTError as exc:
            raise unauthorized("the token is not valid.") from exc
        azp = claims.get("azp")
        # Clerk semantics: an `azp` present must be one of the configured parties.
        if self.authorized_parties and azp is not None and azp not in self.authorized_parties:
            raise unauthorized("the token was issued for another site.")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise unauthorized("the token names no user.")
        return Identity(user_id=sub, claims=claims)
