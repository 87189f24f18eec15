"""Verified tokens reused (app.token_cache), and verification with no thread hop once keys are held."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from types import SimpleNamespace

import jwt
import jwt.api_jwt
import jwt.jwk_set_cache
import pytest

from app.auth import JWKS_CACHE_SECONDS, LEEWAY_SECONDS, RemoteJwks, StaticJwks, TokenVerifier
from app.token_cache import VerifiedTokens
from domain.access import Caller
from domain.errors import Unauthenticated
from tests.support import ADMIN_GROUP, CLIENT_ID, ISSUER, JwksServer, TokenFactory, new_rsa_key, public_jwk


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def verifier_over(jwks_url: str, verified: VerifiedTokens | None = None) -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audiences=frozenset({CLIENT_ID}), admin_group=ADMIN_GROUP,
                         keys=RemoteJwks(jwks_url), verified=verified)


def counting_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every signature check the verifier makes (jwt.decode), recorded."""
    decoded: list[str] = []
    real = jwt.decode

    def decode(token: str, *args: object, **kwargs: object) -> object:
        decoded.append(token)
        return real(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", decode)
    return decoded


def test_a_verified_token_is_reused_without_checking_it_again(
    tokens: TokenFactory, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = verifier_over(jwks_server.url)
    token = tokens.admin("admin-7")
    decoded = counting_decodes(monkeypatch)
    first = verifier.verify(token)
    again = [verifier.verify(token), verifier.verify_without_io(token)]
    assert first == Caller(user_id="admin-7", is_admin=True)
    assert again == [first, first]
    assert decoded == [token]


def test_a_token_past_its_exp_is_refused_though_cached(
    tokens: TokenFactory, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    verifier = verifier_over(jwks_server.url, VerifiedTokens(max_age_seconds=JWKS_CACHE_SECONDS, clock=clock))
    token = tokens.id_token("h1", exp=int(clock.now) + 60)
    assert verifier.verify(token).user_id == "h1"
    generation = verifier.keys.generation
    assert verifier.verified.get(token, generation) is not None
    clock.now += 61  # past exp, for the cache and (below) for PyJWT, whose clock is its module's datetime
    assert verifier.verified.get(token, generation) is None
    later = datetime.fromtimestamp(clock.now + LEEWAY_SECONDS, tz=UTC)
    monkeypatch.setattr(jwt.api_jwt, "datetime", SimpleNamespace(now=lambda tz=None: later))
    with pytest.raises(Unauthenticated, match="The token has expired."):
        verifier.verify(token)
    assert len(verifier.verified) == 0


def test_no_token_is_reused_longer_than_the_jwks_is_kept(tokens: TokenFactory, jwks_server: JwksServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    cache = VerifiedTokens(max_age_seconds=JWKS_CACHE_SECONDS, clock=clock)
    verifier = verifier_over(jwks_server.url, cache)
    token = tokens.id_token("h1", exp=int(clock.now) + 3 * JWKS_CACHE_SECONDS)
    caller = verifier.verify(token)
    generation = verifier.keys.generation
    assert cache.get(token, generation) == caller
    clock.now += JWKS_CACHE_SECONDS
    assert cache.get(token, generation) is None


def test_a_refreshed_jwks_invalidates_the_verified_tokens(
    tokens: TokenFactory, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = verifier_over(jwks_server.url)
    token = tokens.host("h1")
    verifier.verify(token)
    # The pool rotates: the JWKS now holds another key only, and the held set has expired.
    monkeypatch.setattr(jwks_server, "jwks", {"keys": [public_jwk(new_rsa_key(), "rotated-key")]})
    later = time.monotonic() + JWKS_CACHE_SECONDS + 1
    monkeypatch.setattr(jwt.jwk_set_cache, "time", SimpleNamespace(monotonic=lambda: later))
    assert verifier.verify_without_io(token) is None  # the keys must be fetched: not without I/O
    with pytest.raises(Unauthenticated, match="signed by a key this service does not know"):
        verifier.verify(token)


def test_a_jwks_fetched_again_with_the_same_keys_still_starts_afresh(
    tokens: TokenFactory, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = verifier_over(jwks_server.url)
    token = tokens.host("h1")
    verifier.verify(token)
    before = verifier.keys.generation
    assert isinstance(verifier.keys, RemoteJwks)
    verifier.keys._client.get_jwk_set(refresh=True)
    decoded = counting_decodes(monkeypatch)
    assert verifier.keys.generation != before
    assert verifier.verify(token).user_id == "h1"
    assert decoded == [token]


def test_a_refused_token_is_not_remembered(tokens: TokenFactory, jwks_server: JwksServer) -> None:
    verifier = verifier_over(jwks_server.url)
    foreign = tokens.id_token("h1", aud="another-client")
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="issued for another client"):
            verifier.verify(foreign)
        with pytest.raises(Unauthenticated, match="issued for another client"):
            verifier.verify_without_io(foreign)
    assert len(verifier.verified) == 0


def test_the_cache_is_bounded_least_recently_used_first(tokens: TokenFactory, jwks_server: JwksServer) -> None:
    verifier = verifier_over(jwks_server.url, VerifiedTokens(max_age_seconds=JWKS_CACHE_SECONDS, max_tokens=3))
    minted = [tokens.host(f"h{number}") for number in range(5)]
    for token in minted[:3]:
        verifier.verify(token)
    verifier.verify(minted[0])  # used again: now the most recent
    for token in minted[3:]:
        verifier.verify(token)
    generation = verifier.keys.generation
    held = [token for token in minted if verifier.verified.get(token, generation) is not None]
    assert len(verifier.verified) == 3
    assert held == [minted[0], minted[3], minted[4]]


def test_keys_not_yet_fetched_need_io(tokens: TokenFactory, jwks_server: JwksServer) -> None:
    verifier = verifier_over(jwks_server.url)
    fetches = jwks_server.fetches
    assert verifier.verify_without_io(tokens.host("h1")) is None
    assert jwks_server.fetches == fetches


def test_held_keys_verify_a_new_token_without_io(tokens: TokenFactory, jwks_server: JwksServer) -> None:
    verifier = verifier_over(jwks_server.url)
    verifier.verify(tokens.host("h1"))  # fetches the JWKS
    fetches = jwks_server.fetches
    assert verifier.verify_without_io(tokens.admin("a2")) == Caller(user_id="a2", is_admin=True)
    assert jwks_server.fetches == fetches


def test_static_keys_always_verify_without_io(tokens: TokenFactory) -> None:
    verifier = TokenVerifier(issuer=ISSUER, audiences=frozenset({CLIENT_ID}), admin_group=ADMIN_GROUP,
                             keys=StaticJwks({"keys": [public_jwk(tokens.key, tokens.kid)]}))
    assert verifier.verify_without_io(tokens.host("h1")) == Caller(user_id="h1", is_admin=False)
    with pytest.raises(Unauthenticated, match="signed by a key this service does not know"):
        verifier.verify_without_io(TokenFactory(new_rsa_key(), "other-kid").host("h1"))
