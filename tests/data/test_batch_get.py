"""BatchGetItem, through either client (boto3's data.dynamo, the queries' data.dynamo_reads): chunked
at DynamoDB's 100 keys, UnprocessedKeys retried until none remain."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.stub import Stubber

import data.dynamo
from data.channel_reads import ChannelReads
from data.dynamo import DynamoTable, to_dynamo
from services.backend import ChannelsBackend
from domain.errors import UpstreamError
from domain.model import Channel
from tests.data.conftest import BatchGet, reader_for, run_read
from tests.data.table_setup import STUBBED_TABLE, store_channel

@contextmanager
def batch_get_requests(client: Any, table_name: str) -> Iterator[list[int]]:
    """Records each BatchGetItem call made through `client`: how many keys it asked for."""
    calls: list[int] = []

    def record_call(params: dict[str, Any], **_: Any) -> None:
        # `before-call` sees the serialised request.
        calls.append(len(json.loads(params["body"])["RequestItems"][table_name]["Keys"]))

    client.meta.events.register("before-call.dynamodb.BatchGetItem", record_call)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call.dynamodb.BatchGetItem", record_call)


@pytest.fixture(params=["boto3", "aiodynamo"])
def get_channels(request: pytest.FixtureRequest, stores: ChannelsBackend) -> Callable[[list[str]], dict[str, Channel]]:
    """The channel store's read of channels by id, or the queries' (data.channel_reads) on the event loop."""
    if request.param == "boto3":
        return stores.channels.get_channels
    reader = reader_for(stores.table)
    reads = ChannelReads(stores.channels, stores.assignments, stores.capacity, reader)
    return lambda ids: run_read(reader, lambda _: reads.channels(ids))


def test_get_channels_for_250_ids_makes_three_batch_get_calls(
    stores: ChannelsBackend, get_channels: Callable[[list[str]], dict[str, Channel]]
) -> None:
    existing = [store_channel(stores) for _ in range(30)]
    missing = [str(uuid.uuid4()) for _ in range(220)]

    with batch_get_requests(stores.table.client, stores.table.name) as calls:
        found = get_channels([channel.id for channel in existing] + missing)

    assert calls == [100, 100, 50]
    assert found == {channel.id: channel for channel in existing}


def test_get_channels_asks_once_for_an_id_given_twice(
    stores: ChannelsBackend, get_channels: Callable[[list[str]], dict[str, Channel]]
) -> None:
    channel = store_channel(stores)

    with batch_get_requests(stores.table.client, stores.table.name) as calls:
        found = get_channels([channel.id, channel.id])

    assert calls == [1]
    assert found == {channel.id: channel}


def test_get_channels_of_no_ids_makes_no_call(
    stores: ChannelsBackend, get_channels: Callable[[list[str]], dict[str, Channel]]
) -> None:
    with batch_get_requests(stores.table.client, stores.table.name) as calls:
        found = get_channels([])

    assert (calls, found) == ([], {})


# UnprocessedKeys: moto never returns them, so these stub the client (the Stubber still checks each
# request and response against DynamoDB's API model).


def key(n: int) -> dict[str, str]:
    return {"pk": f"channel#c-{n}", "sk": "info"}


def record(n: int) -> dict[str, Any]:
    return {**key(n), "entityType": "persistentChannel", "channelId": f"c-{n}"}


def test_unprocessed_keys_are_asked_for_again(
    stubbed: tuple[DynamoTable, Stubber], no_backoff: list[int], batch_get: BatchGet
) -> None:
    table, stubber = stubbed
    stubber.add_response(
        "batch_get_item",
        {
            "Responses": {STUBBED_TABLE: [to_dynamo(record(1))]},
            "UnprocessedKeys": {STUBBED_TABLE: {"Keys": [to_dynamo(key(2))]}},
        },
        expected_params={"RequestItems": {STUBBED_TABLE: {"Keys": [to_dynamo(key(1)), to_dynamo(key(2))]}}},
    )
    stubber.add_response(
        "batch_get_item",
        {"Responses": {STUBBED_TABLE: [to_dynamo(record(2))]}, "UnprocessedKeys": {}},
        expected_params={"RequestItems": {STUBBED_TABLE: {"Keys": [to_dynamo(key(2))]}}},
    )

    items = batch_get(table, [key(1), key(2)])

    assert items == [record(1), record(2)]
    assert no_backoff == [0]
    stubber.assert_no_pending_responses()


def test_keys_left_unprocessed_after_every_retry_are_an_upstream_error(
    stubbed: tuple[DynamoTable, Stubber], no_backoff: list[int], batch_get: BatchGet
) -> None:
    table, stubber = stubbed
    unprocessed = {"Responses": {STUBBED_TABLE: []}, "UnprocessedKeys": {STUBBED_TABLE: {"Keys": [to_dynamo(key(1))]}}}
    for _ in range(data.dynamo.BATCH_GET_MAX_ATTEMPTS):
        stubber.add_response("batch_get_item", unprocessed)

    with pytest.raises(UpstreamError) as raised:
        batch_get(table, [key(1)])

    assert raised.value.code == "UPSTREAM_ERROR"
    assert raised.value.message == "DynamoDB BatchGetItem left keys unprocessed after retries."
    assert no_backoff == [0, 1, 2, 3, 4, 5]
    stubber.assert_no_pending_responses()


def test_throttled_batch_get_is_an_upstream_error(stubbed: tuple[DynamoTable, Stubber], batch_get: BatchGet) -> None:
    table, stubber = stubbed
    stubber.add_client_error(
        "batch_get_item", service_error_code="ProvisionedThroughputExceededException", http_status_code=400
    )

    with pytest.raises(UpstreamError) as raised:
        table.batch_get([key(1)])

    assert raised.value.message == "DynamoDB BatchGetItem failed: ProvisionedThroughputExceededException."
