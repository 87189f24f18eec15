"""A WebSocket's `connection_ack` waits until the feed's reader has taken its position, so a change
committed once a subscription sent after the ack is processed reaches it; with no connection, no
reader (docs/live-updates.md, "When the feed is read"). Over the emulator's stream."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from app.bootstrap import Service, bootstrap
from app.http import create_app
from data.clients import AwsConnection
from data.dynamo import DynamoTable, to_dynamo
from data.provisioning import provision
from tests.api.test_subscriptions import Connection, TestClient, channel, connect, hub_of, wait_for_subscribers
from tests.conftest import make_settings
from tests.data.table_setup import ENTITY_INDEX


@pytest.fixture
def streamed(service: Service, aws_connection: AwsConnection) -> Iterator[Service]:
    """The service over a table of its own that has its stream (the shared test table has none)."""
    settings = make_settings(table=f"acked-{uuid.uuid4().hex[:8]}")
    other = bootstrap(settings, connection=aws_connection, verifier=service.verifier)
    provision(DynamoTable(other.clients.dynamodb, settings.table), ENTITY_INDEX)
    yield other
    other.close()


def test_a_change_committed_after_the_ack_and_the_subscribe_arrives(streamed: Service, admin: str) -> None:
    with TestClient(create_app(streamed, streamed.change_feed)) as client, connect(client) as websocket:
        hub = hub_of(client)
        assert not hub.reading  # no connection yet: no reader
        connection = Connection(websocket)
        assert connection.init(admin) == {"type": "connection_ack"}
        assert hub.ready  # the ack came once the reader had taken its position
        connection.subscribe("subscription { channelEvents { kind channelId } }")
        wait_for_subscribers(client, 1)
        streamed.table.client.put_item(TableName=streamed.table.name, Item=to_dynamo(channel("c-acked")))
        assert connection.receive() == {"id": "1", "type": "next", "payload": {"data": {"channelEvents": {
            "kind": "CREATED", "channelId": "c-acked"}}}}


def test_a_closed_connection_lets_the_reader_stop(streamed: Service, admin: str) -> None:
    app = create_app(streamed, streamed.change_feed)
    with TestClient(app) as client:
        hub = hub_of(client)
        hub.linger_seconds = 0
        with connect(client) as websocket:
            Connection(websocket).init(admin)
            assert hub.reading
        deadline = time.monotonic() + 5
        while hub.reading and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not hub.reading
