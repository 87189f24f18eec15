"""Stream keys at rest: encrypted under KMS, readable only by those allowed, older plain keys migrated."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag

from app.bootstrap import Service
from app.settings import Settings
from data.clients import AwsConnection, build_clients
from data.key_migration import encrypt_plain_stream_keys
from tests.api import queries
from tests.api.test_errors import create
from tests.conftest import make_settings
from tests.faults import Spy
from tests.support import GraphQLClient, TokenFactory


@pytest.fixture
def settings(aws_connection: AwsConnection) -> Settings:
    key = build_clients(aws_connection).kms.create_key(Description="test stream keys")["KeyMetadata"]["KeyId"]
    return make_settings(kms_key_id=key)


def scan(service: Service) -> list[dict[str, Any]]:
    return service.clients.dynamodb.scan(TableName=service.table.name)["Items"]


def legacy_channel(service: Service, channel_id: str, stream_key: str) -> None:
    """A channel record exactly as the older Node functions wrote it (plain-text stream key)."""
    item = {
        "pk": f"channel#{channel_id}", "sk": "info", "entityType": "persistentChannel", "channelId": channel_id,
        "channelArn": f"arn:aws:ivs:us-east-1:123456789012:channel/{channel_id[:12]}", "channelName": "Legacy",
        "playbackUrl": "https://example.m3u8", "ingestEndpoint": "ingest.example.com", "streamKey": stream_key,
        "state": "IDLE", "totalBroadcasts": 3, "totalStreamingMinutes": 42,
        "createdAt": "2026-10-01T18:00:00.000Z", "updatedAt": "2026-10-01T18:00:00.000Z",
        "channelState": "IDLE", "channelCatalog": "persistentChannel",
    }
    from data.dynamo import to_dynamo

    service.clients.dynamodb.put_item(TableName=service.table.name, Item=to_dynamo(item))


async def test_created_stream_key_is_stored_only_encrypted(gql: GraphQLClient, admin: str, service: Service) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "h1"}, token=admin)
    stream_key = channel["streamKey"]
    assert stream_key.startswith("sk_")
    items = scan(service)
    assert stream_key not in repr(items)
    records = [item for item in items if item.get("entityType", {}).get("S") in {"persistentChannel", "channelAssignment"}]
    assert len(records) == 2
    for record in records:
        assert record["streamKey"] == {"NULL": True}
        assert record["encryptedStreamKey"]["S"].startswith("kms1:")


async def test_admin_and_assigned_host_read_the_decrypted_key(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "h1"}, token=admin)
    by_admin = (await gql(queries.CHANNEL, {"id": channel["id"]}, token=admin))["data"]["channel"]["streamKey"]
    by_host = (await gql(queries.MY_CHANNEL, token=tokens.host("h1")))["data"]["myChannel"]["channel"]["streamKey"]
    assert by_admin == by_host == channel["streamKey"]


async def test_a_page_of_encrypted_keys_costs_at_most_one_kms_call(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    for n in range(10):
        await create(gql, admin, name=f"C{n}")
    assert service.backend.stream_keys is not None
    service.backend.stream_keys.forget_cached_keys()  # as in a fresh process
    with Spy(service.clients.kms) as spy:
        page = (await gql(queries.CHANNELS, {"first": 10}, token=admin))["data"]["channels"]["edges"]
    assert all(edge["node"]["streamKey"].startswith("sk_") for edge in page)
    assert spy.operations == ["Decrypt"]


async def test_a_host_not_assigned_makes_no_kms_call(gql: GraphQLClient, admin: str, service: Service, tokens: TokenFactory) -> None:
    channel = await create(gql, admin)
    with Spy(service.clients.kms) as spy:
        result = await gql(queries.CHANNEL, {"id": channel["id"]}, token=tokens.host("stranger"))
    assert result == {"data": {"channel": None}}
    assert spy.operations == []


async def test_sealed_key_does_not_open_for_another_channel(service: Service) -> None:
    cipher = service.backend.stream_keys
    assert cipher is not None
    sealed = cipher.seal("channel-a", "sk_secret")
    assert cipher.open("channel-a", sealed) == "sk_secret"
    with pytest.raises(InvalidTag):
        cipher.open("channel-b", sealed)


async def test_legacy_plain_key_reads_then_migrates(
    gql: GraphQLClient, admin: str, service: Service, settings: Settings
) -> None:
    channel_id = "0b5c1f7e-1111-4222-8333-944445555666"
    legacy_channel(service, channel_id, "sk_legacy_plain_key")
    assert (await gql(queries.CHANNEL, {"id": channel_id}, token=admin))["data"]["channel"]["streamKey"] == "sk_legacy_plain_key"
    assert service.backend.stream_keys is not None

    dry = encrypt_plain_stream_keys(service.table, settings.entity_index, service.backend.stream_keys, apply=False)
    assert (dry.channels_plain, dry.sealed) == (1, 0)
    assert "sk_legacy_plain_key" in repr(scan(service))

    applied = encrypt_plain_stream_keys(service.table, settings.entity_index, service.backend.stream_keys, apply=True)
    assert (applied.channels_plain, applied.sealed) == (1, 1)
    assert "sk_legacy_plain_key" not in repr(scan(service))
    again = encrypt_plain_stream_keys(service.table, settings.entity_index, service.backend.stream_keys, apply=True)
    assert (again.channels_plain, again.sealed, again.already_sealed) == (0, 0, 1)

    read = (await gql(queries.CHANNEL, {"id": channel_id}, token=admin))["data"]["channel"]
    assert read["streamKey"] == "sk_legacy_plain_key"
    assert read["stats"]["totalBroadcasts"] == 3  # nothing else of the record changed


async def test_logs_of_a_full_scenario_hold_no_stream_key_or_token(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, caplog: pytest.LogCaptureFixture
) -> None:
    host = tokens.host("h1")
    with caplog.at_level(logging.DEBUG, logger="shelcaster"), caplog.at_level(logging.INFO):
        channel = await create(gql, admin)
        await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "h1"}, token=admin)
        await gql(queries.SET_STATE, {"channelId": channel["id"], "state": "LIVE"}, token=host)
        await gql(queries.MY_CHANNEL, token=host)
        await gql(queries.SET_STATE, {"channelId": channel["id"], "state": "IDLE"}, token=host)
        await gql(queries.CAPACITY, token="not-a-token")
    text = caplog.text
    assert caplog.records  # the scenario did log
    for secret in (channel["streamKey"], admin, host, admin.split(".")[2], "Bearer"):
        assert secret not in text
