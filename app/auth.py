"""Bearer tokens: verified against a JWKS as Cognito issues them (docs/architecture.md, "Who may do what").

People send ID or access tokens (admins by group); services send client-credentials access tokens,
whose scopes say what they may do (domain/access.py holds what each kind of caller may do)."""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Any, Protocol

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet

from app.token_cache import VerifiedTokens
from domain.access import Caller
from domain.errors import Unauthenticated, UpstreamError

log = logging.getLogger(__name__)

ALGORITHM = "RS256"  # Cognito signs with RS256; pinning it refuses `alg: none` and HMAC confusion.
LEEWAY_SECONDS = 30
DEFAULT_SCOPE_PREFIX = "shelcaster-channels"  # CHANNELS_AUTH_SCOPE_PREFIX's default
JWKS_CACHE_SECONDS = 600


class SigningKeys(Protocol):
    def key_for(self, kid: str) -> PyJWK: ...

    def cached_key_for(self, kid: str) -> PyJWK | None:
        """The key when it is known without I/O; None when finding it may need a fetch."""

    @property
    def generation(self) -> object:
        """Changes whenever the key set is replaced (a JWKS fetched again): verified tokens go with it.
        None while no key set is held (or it has expired): then no verified token is reused."""


class RemoteJwks:
    """Keys fetched from a JWKS URL: lazily, cached, and fetched again once for an unknown `kid`."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        # The JWK set is cached for JWKS_CACHE_SECONDS; PyJWT's extra per-kid cache (cache_keys) never
        # expires, so a key withdrawn from the JWKS would stay trusted until restart: off.
        self._client = PyJWKClient(url, cache_keys=False, lifespan=JWKS_CACHE_SECONDS, timeout=int(timeout))
        self._seen: object = None
        self._generation = 0
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def generation(self) -> object:
        cache = self._client.jwk_set_cache
        if cache is None or cache.get() is None:
            return None  # no keys held, or held too long: nothing verified with them may be reused
        current = cache.jwk_set_with_timestamp
        with self._lock:
            if current is not self._seen:  # each fetch stores a new one
                self._seen = current
                self._generation = next(self._counter)
            return self._generation

    def forget(self) -> None:
        """Drop the key set held (fetched again for the next token): after a Lambda snapshot restore,
        whose copies cannot trust how long ago it was fetched."""
        cache = self._client.jwk_set_cache
        if cache is not None:
            cache.put(None)

    def cached_key_for(self, kid: str) -> PyJWK | None:
        cache = self._client.jwk_set_cache
        keys = cache.get() if cache is not None else None  # None once expired
        if keys is None:
            return None
        for key in keys.keys:
            if key.key_id == kid:
                return key
        return None  # an unknown kid makes key_for fetch the JWKS again

    def key_for(self, kid: str) -> PyJWK:
        try:
            return self._client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            log.warning("JWKS fetch failed: %s", exc)
            raise UpstreamError("The token signing keys could not be fetched; retry shortly.") from exc
        except jwt.PyJWKClientError as exc:
            raise Unauthenticated("The token was signed by a key this service does not know.") from exc


class StaticJwks:
    """Keys known up front (embedded mode's dev key)."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self._keys = PyJWKSet.from_dict(jwks)

    generation: object = 0  # never replaced

    def cached_key_for(self, kid: str) -> PyJWK | None:
        return self.key_for(kid)  # no I/O: an unknown kid is refused here

    def key_for(self, kid: str) -> PyJWK:
        for key in self._keys.keys:
            if key.key_id == kid:
                return key
        raise Unauthenticated("The token was signed by a key this service does not know.")


class TokenVerifier:
    """Turns a bearer token into a Caller, or refuses it with UNAUTHENTICATED saying why."""

    def __init__(
        self,
        *,
        issuer: str,
        audiences: frozenset[str],
        admin_group: str,
        keys: SigningKeys,
        scope_prefix: str = DEFAULT_SCOPE_PREFIX,
        verified: VerifiedTokens | None = None,
    ) -> None:
        self.issuer = issuer
        self.audiences = audiences
        self.admin_group = admin_group
        self.keys = keys
        self.scope_prefix = scope_prefix
        self.verified = verified if verified is not None else VerifiedTokens(max_age_seconds=JWKS_CACHE_SECONDS)

    def verify(self, token: str) -> Caller:
        """The caller of `token`; may fetch the JWKS (blocking I/O), so call it off the event loop."""
        generation = self.keys.generation
        cached = self.verified.get(token, generation)
        if cached is not None:
            return cached
        kid = self._kid(token)
        key = self.keys.key_for(kid)
        if generation is None:
            # The keys were just fetched: tag with the new set only if this very key belongs to it.
            generation = self.keys.generation
            if self.keys.cached_key_for(kid) is not key:
                generation = None
        return self._verify(token, key, generation)

    def verify_without_io(self, token: str) -> Caller | None:
        """The caller of `token` when that needs no I/O: a token verified before, or one whose signing
        key is in memory (verified here, on the caller's thread: no thread hop). None when the JWKS may
        have to be fetched: then call `verify` in a thread. Refuses with Unauthenticated like `verify`."""
        generation = self.keys.generation
        cached = self.verified.get(token, generation)
        if cached is not None:
            return cached
        key = self.keys.cached_key_for(self._kid(token))
        return None if key is None else self._verify(token, key, generation)

    @staticmethod
    def _kid(token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthenticated("The bearer token is not a well-formed JWT.") from None
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated(f"The token must be signed with {ALGORITHM}.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("The token has no key id ('kid').")
        return kid

    def _verify(self, token: str, key: PyJWK, generation: object) -> Caller:
        claims = self._claims(token, key)
        caller = self._caller(claims)
        # Only now, every check passed: a refused token is never remembered.
        self.verified.put(token, caller, expires_at=claims["exp"], key_set=generation)
        return caller

    def _claims(self, token: str, key: PyJWK) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                # Audience is checked below: Cognito access tokens carry `client_id`, not `aud`.
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The token has expired.") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("The token was issued by another issuer.") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"The token is not valid: {exc}.") from None
        _check_times_are_numbers(claims)
        self._check_audience(claims)
        return claims

    def _caller(self, claims: dict[str, Any]) -> Caller:
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub:
            raise Unauthenticated("The token has no subject ('sub').")
        if claims["token_use"] == "access" and sub == claims.get("client_id"):
            return self._service(sub, claims)
        # A person: admin by group membership only. Scopes a person's token carries grant nothing
        # more (an app client's scopes are granted to every user of that client).
        groups = claims.get("cognito:groups") or []
        if not isinstance(groups, list):
            groups = []
        return Caller(user_id=sub, is_admin=self.admin_group in groups)

    def _service(self, client_id: str, claims: dict[str, Any]) -> Caller:
        """A client-credentials access token: `sub` is its own `client_id` (already checked to be one
        of the audience), no user, no groups; what it may do comes from its scopes."""
        if any(name in claims for name in ("username", "cognito:username", "cognito:groups")):
            raise Unauthenticated(
                "A client-credentials token (sub equal to client_id) carries no user: "
                "'username' and 'cognito:groups' are not allowed in it."
            )
        scope = claims.get("scope", "")
        if not isinstance(scope, str):
            raise Unauthenticated("The token's 'scope' must be a space-separated string.")
        return Caller.service(client_id, scope.split(), self.scope_prefix)

    def _check_audience(self, claims: dict[str, Any]) -> None:
        token_use = claims.get("token_use")
        if token_use == "id":
            audience = claims.get("aud")
            audiences = audience if isinstance(audience, list) else [audience]
        elif token_use == "access":
            audiences = [claims.get("client_id")]
        else:
            raise Unauthenticated("Only ID and access tokens are accepted ('token_use' must be 'id' or 'access').")
        if not any(isinstance(value, str) and value in self.audiences for value in audiences):
            raise Unauthenticated("The token was issued for another client (audience).")


def _check_times_are_numbers(claims: dict[str, Any]) -> None:
    # PyJWT checks exp/nbf/iat through int(), which also takes "9999999999" and true (RFC 7519 section 2:
    # a NumericDate is a JSON number).
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise Unauthenticated(f"The token's '{name}' claim must be a number.")


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when there is no header."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    return token.strip()
