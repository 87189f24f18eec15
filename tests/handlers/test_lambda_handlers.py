"""The Lambda entry points, fed real API Gateway (HTTP API v2, REST API v1) and EventBridge event shapes."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import app.bootstrap
import server
from app import lambda_handler
from app.settings import Settings
from data.clients import AwsConnection, build_clients
from data.dynamo import DynamoTable
from data.provisioning import provision
from tests.conftest import make_settings
from tests.events.test_ivs_events import live_stream_event, sample
from tests.support import CLIENT_ID, ISSUER, JwksServer, TokenFactory

EVENTS = Path(__file__).parent / "events"
CONTEXT = type("LambdaContext", (), {"function_name": "shelcaster-channels-api", "aws_request_id": "req-1"})()


@pytest.fixture
def lambda_env(
    monkeypatch: pytest.MonkeyPatch, aws_connection: AwsConnection, jwks_server: JwksServer
) -> Iterator[Settings]:
    """The environment the SAM template gives the functions, pointed at moto."""
    settings = make_settings()
    provision(DynamoTable(build_clients(aws_connection).dynamodb, settings.table), settings.entity_index)
    for name, value in {
        "CHANNELS_BACKEND": "aws",
        "CHANNELS_ENV": "production",
        "CHANNELS_TABLE": settings.table,
        "CHANNELS_AUTH_ISSUER": ISSUER,
        "CHANNELS_AUTH_AUDIENCE": CLIENT_ID,
        "CHANNELS_AUTH_JWKS_URL": jwks_server.url,
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": aws_connection.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, str(value))
    lambda_handler.reset()
    yield settings
    lambda_handler.reset()


def api_event(name: str, query: str, token: str) -> dict[str, Any]:
    event = copy.deepcopy(json.loads((EVENTS / name).read_text()))
    body = json.dumps({"query": query})
    headers = event["headers"]
    if "multiValueHeaders" in event:
        headers["Authorization"] = f"Bearer {token}"
        event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}"]
    else:
        headers["authorization"] = f"Bearer {token}"
        headers["content-length"] = str(len(body))
    event["body"] = body
    return event


@pytest.mark.parametrize("event_file", ["apigw_http_v2.json", "apigw_rest_v1.json"])
def test_api_handler_answers_graphql_from_api_gateway(lambda_env: Settings, tokens: TokenFactory, event_file: str) -> None:
    admin = tokens.admin()
    created = server.handler(api_event(event_file, 'mutation { createChannel(input: {name: "Lambda"}) { id name } }', admin), CONTEXT)
    assert created["statusCode"] == 200
    assert json.loads(created["body"])["data"]["createChannel"]["name"] == "Lambda"
    capacity = server.handler(api_event(event_file, "{ capacity { used } }", admin), CONTEXT)
    assert json.loads(capacity["body"]) == {"data": {"capacity": {"used": 1}}}
    headers = {name.lower(): value for name, value in capacity["headers"].items()}
    assert headers["x-request-id"]


def test_api_handler_builds_the_service_once_per_container(
    lambda_env: Settings, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    real_bootstrap = app.bootstrap.bootstrap

    def counting_bootstrap(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return real_bootstrap(*args, **kwargs)

    monkeypatch.setattr(app.bootstrap, "bootstrap", counting_bootstrap)
    for _ in range(3):
        response = server.handler(api_event("apigw_http_v2.json", "{ capacity { used } }", tokens.admin()), CONTEXT)
        assert response["statusCode"] == 200
    assert len(built) == 1


def test_api_handler_refuses_a_host_on_admin_operations(lambda_env: Settings, tokens: TokenFactory) -> None:
    response = server.handler(api_event("apigw_http_v2.json", "{ capacity { used } }", tokens.host("h1")), CONTEXT)
    assert json.loads(response["body"])["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_importing_the_handler_builds_no_client() -> None:
    lambda_handler.reset()
    import importlib

    importlib.reload(server)
    assert lambda_handler._api is None and lambda_handler._events_backend is None


def test_events_handler_applies_ivs_events(lambda_env: Settings, tokens: TokenFactory, aws: Any) -> None:
    admin = tokens.admin()
    created = server.handler(
        api_event("apigw_http_v2.json", 'mutation { createChannel(input: {name: "Events"}) { id arn streamKey } }', admin),
        CONTEXT,
    )
    channel = json.loads(created["body"])["data"]["createChannel"]
    start = live_stream_event(aws.ivs_stand_in, channel["arn"], channel["streamKey"])
    assert server.events_handler(start, CONTEXT) == {"outcome": "went LIVE"}
    assert server.events_handler(start, CONTEXT) == {"outcome": "already applied: the stream has its session"}
    state = server.handler(
        api_event("apigw_http_v2.json", '{ channel(id: "%s") { state stats { totalBroadcasts } } }' % channel["id"], admin),
        CONTEXT,
    )
    assert json.loads(state["body"])["data"]["channel"] == {"state": "LIVE", "stats": {"totalBroadcasts": 1}}


def test_live_check_handler_takes_a_channel_ivs_streams_on_live(
    lambda_env: Settings, tokens: TokenFactory, aws: Any
) -> None:
    admin = tokens.admin()
    created = server.handler(
        api_event("apigw_http_v2.json", 'mutation { createChannel(input: {name: "Check"}) { id streamKey } }', admin),
        CONTEXT,
    )
    channel = json.loads(created["body"])["data"]["createChannel"]
    aws.ivs_stand_in.connect_encoder(channel["streamKey"])
    scheduled = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}

    first = server.live_check_handler(scheduled, CONTEXT)
    second = server.live_check_handler(scheduled, CONTEXT)

    assert first["went_live"] == [channel["id"]] and second["seen"] == [channel["id"]]


@pytest.mark.parametrize("event_file", ["apigw_http_v2.json", "apigw_rest_v1.json"])
def test_api_handler_refuses_a_subscription_plainly(lambda_env: Settings, tokens: TokenFactory, event_file: str) -> None:
    answered = server.handler(api_event(event_file, "subscription { channelEvents { kind } }", tokens.admin()), CONTEXT)
    assert json.loads(answered["body"]) == {"data": None, "errors": [{
        "message": "This deployment has no subscriptions (the Lambda functions cannot hold a connection); "
                   "subscribe through the container deployment (docs/live-updates.md).",
        "extensions": {"code": "BAD_USER_INPUT"},
    }]}
