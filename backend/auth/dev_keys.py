"""The embedded backend's own RSA key pair: it serves the JWKS and issues dev tokens.

In a real deployment Clerk issues tokens; in embedded mode the backend plays that part
for the single local user, with the same algorithm (RS256) and a short lifetime, so the
client exercises exactly the code path it uses against Clerk.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from backend.private_files import private_dir, restrict, write_private_file

EMBEDDED_ISSUER = "imagegen-embedded"
KEY_FILE = "jwt-signing-key.pem"


@dataclass(frozen=True)
class DevKeyPair:
    private_key: rsa.RSAPrivateKey
    kid: str
    issuer: str = EMBEDDED_ISSUER

    @classmethod
    def generate(cls, issuer: str = EMBEDDED_ISSUER) -> DevKeyPair:
        """A fresh in-memory key (tests that need a second, untrusted key use this)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(key, _kid_for(key.public_key()), issuer)

    @classmethod
    def load_or_create(cls, data_dir: Path, issuer: str = EMBEDDED_ISSUER) -> DevKeyPair:
        data_dir = Path(data_dir)
        private_dir(data_dir)
        path = data_dir / KEY_FILE
        if not path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            write_private_file(path, pem)
        restrict(path)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key; delete it to regenerate.")
        return cls(loaded, _kid_for(loaded.public_key()), issuer)

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return jwk

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def issue_token(
        self,
        sub: str,
        ttl_s: int = 60,
        issuer: str | None = None,
        *,
        azp: str | None = None,
        now: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """A signed RS256 JWT for ``sub``; ``now`` lets tests mint already-expired tokens."""
        t = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "sub": sub,
            "iss": issuer or self.issuer,
            "iat": t,
            "nbf": t,
            "exp": t + int(ttl_s),
        }
        if azp:
            claims["azp"] = azp
        if extra:
            claims.update(extra)
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})


def _kid_for(public_key: rsa.RSAPublicKey) -> str:
    """Stable key id: a hash of the public key, so it survives restarts with the same file."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]
