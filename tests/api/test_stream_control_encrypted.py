"""Key changes with stream keys encrypted at rest (data.stream_keys): the new key is stored only
sealed, on the channel and its assignments, and opens to the key IVS has."""

from __future__ import annotations

from typing import Any

import pytest

from app.bootstrap import Service
from app.settings import Settings
from data.clients import AwsConnection, build_clients
from tests.api import queries
from tests.api.test_errors import create
from tests.api.test_live_streams import set_state
from tests.api.test_stream_control import ROTATE, ivs_keys
from tests.conftest import make_settings
from tests.support import GraphQLClient, TokenFactory


@pytest.fixture
def settings(aws_connection: AwsConnection) -> Settings:
    key = build_clients(aws_connection).kms.create_key(Description="test stream keys")["KeyMetadata"]["KeyId"]
    return make_settings(kms_key_id=key)


def raw_records(service: Service, channel_id: str, host: str) -> list[dict[str, Any]]:
    client = service.clients.dynamodb
    return [client.get_item(TableName=service.table.name, Key=key)["Item"] for key in (
        {"pk": {"S": f"channel#{channel_id}"}, "sk": {"S": "info"}},
        {"pk": {"S": f"host#{host}"}, "sk": {"S": "channel#assignment"}},
    )]


async def test_a_rotated_key_is_stored_only_sealed_everywhere(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service
) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "host-1"}, token=admin)

    rotated = (await gql(ROTATE, {"id": channel["id"]}, token=admin))["data"]["rotateStreamKey"]["streamKey"]

    assert ivs_keys(service, channel["arn"]) == [rotated]
    for item in raw_records(service, channel["id"], "host-1"):
        assert item["streamKey"] == {"NULL": True}
        assert item["encryptedStreamKey"]["S"].startswith("kms1:") and rotated not in str(item)
    host_view = await gql(queries.MY_CHANNEL, token=tokens.host("host-1"))
    assert host_view["data"]["myChannel"]["channel"]["streamKey"] == rotated


async def test_offline_removes_the_sealed_key_and_idle_seals_the_new_one(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "host-1"}, token=admin)

    await set_state(gql, admin, channel["id"], "OFFLINE")
    offline = raw_records(service, channel["id"], "host-1")
    idle = await set_state(gql, admin, channel["id"], "IDLE")

    assert all("encryptedStreamKey" not in item and item["streamKey"] == {"NULL": True} for item in offline)
    assert ivs_keys(service, channel["arn"]) == [idle["streamKey"]]
    assert all(item["encryptedStreamKey"]["S"].startswith("kms1:") for item in raw_records(service, channel["id"], "host-1"))
