"""AWS failures that are not a refused condition become UPSTREAM_ERROR at the storage boundary."""

from __future__ import annotations

import pytest

from data.clients import AwsClients, AwsConnection, build_clients
from data.dynamo import DynamoTable, put
from services.backend import ChannelsBackend
from tests.data.table_setup import stores_of
from domain.errors import UpstreamError
from domain.model import ChannelState


@pytest.fixture
def missing_table(clients: AwsClients) -> ChannelsBackend:
    return stores_of(DynamoTable(clients.dynamodb, "no-such-table"))


def test_query_against_a_missing_table_is_upstream_error(missing_table: ChannelsBackend) -> None:
    with pytest.raises(UpstreamError) as raised:
        missing_table.channels.list_channels(ChannelState.LIVE, 10, None)

    assert raised.value.code == "UPSTREAM_ERROR"
    assert raised.value.message == "DynamoDB Query failed: ResourceNotFoundException."


def test_get_against_a_missing_table_is_upstream_error(missing_table: ChannelsBackend) -> None:
    with pytest.raises(UpstreamError) as raised:
        missing_table.channels.get_channel("c-1")

    assert raised.value.message == "DynamoDB GetItem failed: ResourceNotFoundException."


def test_batch_get_against_a_missing_table_is_upstream_error(missing_table: ChannelsBackend) -> None:
    with pytest.raises(UpstreamError) as raised:
        missing_table.channels.get_channels(["c-1"])

    assert raised.value.message == "DynamoDB BatchGetItem failed: ResourceNotFoundException."


def test_transaction_against_a_missing_table_is_upstream_error(missing_table: ChannelsBackend) -> None:
    with pytest.raises(UpstreamError) as raised:
        missing_table.table.transact([put({"pk": "channel#c-1", "sk": "info"})])

    assert raised.value.message == "DynamoDB TransactWriteItems failed: ResourceNotFoundException."


def test_unreachable_dynamodb_is_upstream_error() -> None:
    # Nothing listens on port 9 of loopback (discard); the SDK's retries end in a connection error.
    clients = build_clients(AwsConnection(region="us-east-1", endpoint_url="http://127.0.0.1:9",
                                          access_key_id="x", secret_access_key="x"))

    with pytest.raises(UpstreamError) as raised:
        DynamoTable(clients.dynamodb, "shelcaster-app").get({"pk": "channel#c-1", "sk": "info"})

    assert raised.value.message == "DynamoDB GetItem failed: the service could not be reached."
