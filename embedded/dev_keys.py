"""Embedded mode's own signing key: it serves the JWKS and mints tokens that the service accepts.

The key lives in a git-ignored folder (CHANNELS_DEV_DIR, default `.channels-dev/`) so that tokens
survive restarts and `shelcaster-channels token` signs with the same key as the running service.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEV_ISSUER = "https://shelcaster-channels.embedded.invalid/dev"
DEV_AUDIENCE = "shelcaster-channels-dev-client"
# The client id of a stand-in session service (create-session / end-session) that embedded mode
# accepts besides any client id of CHANNELS_AUTH_AUDIENCE.
DEV_SERVICE_CLIENT = "shelcaster-session-service-dev"
DEV_TOKEN_LIFETIME_SECONDS = 12 * 60 * 60
_KEY_FILE = "dev-signing-key.pem"


class DevSigningKey:
    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self._private_key = private_key
        public_numbers = private_key.public_key().public_numbers()
        self._public_jwk = {
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "n": _b64(public_numbers.n),
            "e": _b64(public_numbers.e),
        }
        thumbprint = json.dumps({k: self._public_jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(thumbprint.encode()).digest()).decode().rstrip("=")

    @classmethod
    def load_or_create(cls, folder: Path) -> DevSigningKey:
        path = folder / _KEY_FILE
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            (folder / ".gitignore").write_text("*\n")
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            temporary = folder / f".{_KEY_FILE}.{os.getpid()}"
            # Created owner-only from the first byte: never readable by others, even for a moment.
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
            try:
                os.link(temporary, path)  # fails if another process made the key first: use theirs
            except FileExistsError:
                pass
            finally:
                temporary.unlink()
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key; delete it to make a new one.")
        return cls(loaded)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self._public_jwk, "kid": self.kid}]}

    def mint(self, user_id: str, *, admin: bool, admin_group: str, lifetime: int = DEV_TOKEN_LIFETIME_SECONDS) -> str:
        """An ID token shaped as Cognito issues them."""
        now = int(time.time())
        claims = {
            "sub": user_id,
            "aud": DEV_AUDIENCE,
            "iss": DEV_ISSUER,
            "token_use": "id",
            "cognito:username": user_id,
            "cognito:groups": [admin_group] if admin else [],
            "auth_time": now,
            "iat": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
        }
        return self._signed(claims)

    def mint_service(
        self, client_id: str, scopes: list[str], *, lifetime: int = DEV_TOKEN_LIFETIME_SECONDS
    ) -> str:
        """An access token shaped as Cognito's client-credentials grant issues them: `sub` is the
        client id, no user, no groups, the granted scopes space-separated."""
        now = int(time.time())
        claims = {
            "sub": client_id,
            "client_id": client_id,
            "iss": DEV_ISSUER,
            "token_use": "access",
            "scope": " ".join(scopes),
            "auth_time": now,
            "iat": now,
            "exp": now + lifetime,
            "version": 2,
            "jti": str(uuid.uuid4()),
        }
        return self._signed(claims)

    def _signed(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers={"kid": self.kid})


def embedded_audiences(configured: frozenset[str]) -> frozenset[str]:
    """The client ids embedded mode accepts: the dev client, the dev session service, and any set in
    CHANNELS_AUTH_AUDIENCE (so a real service's client id can be tried locally)."""
    return frozenset({DEV_AUDIENCE, DEV_SERVICE_CLIENT}) | configured


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
