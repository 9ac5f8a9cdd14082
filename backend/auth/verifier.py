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
    ) -> None:
        # resolve_key(token, header) -> verification key; raises ApiError when unknown.
        self._resolve_key = resolve_key
        self.issuer = issuer
        self.authorized_parties = tuple(authorized_parties)
        self.leeway_s = leeway_s
        # token -> its Identity, until exp + leeway (wall clock, as ``exp`` is). Verified
        # in worker threads and read on the event loop: one lock around it.
        self._verified: TLRUCache[str, Identity] = TLRUCache(
            VERIFIED_TOKENS, self._valid_until, timer=time.time
        )
        self._lock = threading.Lock()

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

        def resolve(token: str, _header: dict[str, Any]) -> Any:
            try:
                return client.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientConnectionError as exc:
                raise ApiError(
                    503,
                    "auth_unavailable",
                    "The sign-in service could not be reached. Please try again shortly.",
                ) from exc
            except (jwt.PyJWKClientError, jwt.PyJWKError, jwt.DecodeError) as exc:
                raise unauthorized("the token was signed by an unknown key.") from exc

        return cls(resolve, issuer=issuer, authorized_parties=tuple(authorized_parties))

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

        return cls(resolve, issuer=keys.issuer, authorized_parties=tuple(authorized_parties))

    def verify(self, token: str) -> Identity:
        if not token or not isinstance(token, str):
            raise unauthorized("no token was sent.")
        if (known := self.cached(token)) is not None:
            return known
        identity = self._verify_now(token)
        with self._lock:
            self._verified[token] = identity
        return identity

    def _verify_now(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthorized("the token is malformed.") from exc
        if header.get("alg") != ALGORITHM:
            raise unauthorized("the token uses an unsupported signing algorithm.")
        key = self._resolve_key(token, header)
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
