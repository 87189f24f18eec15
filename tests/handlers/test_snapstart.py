"""Lambda SnapStart's runtime hooks (app.lambda_handler): built before the snapshot, made unique after
each restore. Lambda calls them; here they are called directly, as Lambda would."""

from __future__ import annotations

import importlib
import random
import sys
import types
from typing import Any

import pytest

import server
from app import lambda_handler
from app.auth import RemoteJwks
from app.settings import Settings
from tests.handlers.test_lambda_handlers import CONTEXT, api_event, lambda_env  # noqa: F401 (fixture)
from tests.support import JwksServer, TokenFactory, recorded_sessions


def built_service() -> Any:
    service = lambda_handler._api_service
    assert service is not None
    return service


def test_before_snapshot_builds_everything_a_first_call_would(
    lambda_env: Settings, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    lambda_handler.before_snapshot()
    service = built_service()
    assert service.clients.ivs.built and service.clients.kms.built
    monkeypatch.setattr(lambda_handler, "_build_api", lambda: pytest.fail("built again after the snapshot"))
    answer = server.handler(api_event("apigw_http_v2.json", "{ capacity { used } }", tokens.admin()), CONTEXT)
    assert answer["statusCode"] == 200
    assert answer["body"] == '{"data":{"capacity":{"used":0}}}'


def test_before_snapshot_fetches_no_signing_keys(lambda_env: Settings, jwks_server: JwksServer) -> None:  # noqa: F811
    fetches = jwks_server.fetches
    lambda_handler.before_snapshot()
    assert jwks_server.fetches == fetches  # a JWKS in the snapshot would be as old as the snapshot


def test_after_restore_forgets_tokens_keys_and_data_keys(
    lambda_env: Settings, tokens: TokenFactory, jwks_server: JwksServer  # noqa: F811
) -> None:
    lambda_handler.before_snapshot()
    token = tokens.admin()
    assert server.handler(api_event("apigw_http_v2.json", "{ capacity { used } }", token), CONTEXT)["statusCode"] == 200
    service = built_service()
    assert len(service.verifier.verified) == 1
    assert isinstance(service.verifier.keys, RemoteJwks) and service.verifier.keys.generation is not None
    fetches = jwks_server.fetches
    lambda_handler.after_restore()
    assert len(service.verifier.verified) == 0
    assert service.verifier.keys.generation is None
    answer = server.handler(api_event("apigw_http_v2.json", "{ capacity { used } }", token), CONTEXT)
    assert answer["body"] == '{"data":{"capacity":{"used":0}}}'
    assert jwks_server.fetches == fetches + 1  # this copy fetched its own keys


PAGE = "{ channels(first: 1) { edges { node { id } } } }"  # read through data.dynamo_reads


def test_after_restore_closes_the_queries_connections_and_the_next_read_opens_new_ones(
    lambda_env: Settings, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    lambda_handler.before_snapshot()
    opened = recorded_sessions(monkeypatch)
    token = tokens.admin()
    assert server.handler(api_event("apigw_http_v2.json", PAGE, token), CONTEXT)["statusCode"] == 200
    assert len(opened) == 1
    lambda_handler.after_restore()
    assert opened[0].closed
    answer = server.handler(api_event("apigw_http_v2.json", PAGE, token), CONTEXT)
    assert answer["body"] == '{"data":{"channels":{"edges":[]}}}'
    assert len(opened) == 2 and not opened[1].closed


def test_invocations_share_the_queries_connections(
    lambda_env: Settings, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    opened = recorded_sessions(monkeypatch)
    token = tokens.admin()
    for _ in range(3):
        assert server.handler(api_event("apigw_http_v2.json", PAGE, token), CONTEXT)["statusCode"] == 200
    assert len(opened) == 1


def test_copies_restored_from_one_snapshot_draw_different_random_numbers(lambda_env: Settings) -> None:  # noqa: F811
    lambda_handler.before_snapshot()
    snapshot = random.getstate()
    draws = []
    for _ in range(2):  # two copies, each restored from the same state
        random.setstate(snapshot)
        lambda_handler.after_restore()
        draws.append(random.getrandbits(64))
    assert draws[0] != draws[1]


def test_hooks_are_registered_with_the_runtimes_library(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[tuple[str, str]] = []
    library = types.ModuleType("snapshot_restore_py")
    library.register_before_snapshot = lambda hook: registered.append(("before", hook.__name__))  # type: ignore[attr-defined]
    library.register_after_restore = lambda hook: registered.append(("after", hook.__name__))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", library)
    try:
        importlib.reload(lambda_handler)
    finally:
        monkeypatch.delitem(sys.modules, "snapshot_restore_py")
        importlib.reload(lambda_handler)
    assert registered == [("before", "before_snapshot"), ("after", "after_restore")]
