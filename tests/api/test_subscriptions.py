"""Subscriptions over graphql-transport-ws and multipart HTTP, fed by an in-memory feed of table changes
(CONTRACT.md section 13; docs/live-updates.md). The feed over the real DynamoDB stream is tested with
`serve` in tests/test_live_updates_serve.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import warnings

import pytest
from starlette.websockets import WebSocketDisconnect

with warnings.catch_warnings():
    # Starlette's TestClient (the one in-process WebSocket client) asks for httpx2, not installed here.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from pathlib import Path

from app.bootstrap import Service, bootstrap
from app.persisted_documents import sha256_hex
from data.clients import AwsConnection
from data.dynamo import to_dynamo
from app.http import create_app
from domain.table_changes import ChangeKind, Deliver, TableChange
from services import live_updates
from tests.api.test_persisted_documents import codegen_manifest
from tests.conftest import make_settings
from tests.support import TokenFactory

AT = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)
CHANNEL_EVENTS = "subscription { channelEvents { kind channelId channel { id state streamKey } } }"
REQUEST_EVENTS = "subscription { channelRequestEvents { kind request { id requesterId status } } }"
PROTOCOL = ["graphql-transport-ws"]


class ListFeed:
    """Changes put in by the test thread, delivered on the app's loop as the stream reader would."""

    began = True  # what the test puts in after subscribing is delivered

    def __init__(self) -> None:
        self.batches: queue.Queue[list[TableChange]] = queue.Queue()

    def put(self, *changes: TableChange) -> None:
        self.batches.put(list(changes))

    async def run(self, deliver: Deliver) -> None:
        while True:
            try:
                batch = self.batches.get_nowait()
            except queue.Empty:
                await asyncio.sleep(0.01)
                continue
            await deliver(batch)


def change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> TableChange:
    kind = ChangeKind.INSERT if old is None else ChangeKind.REMOVE if new is None else ChangeKind.MODIFY
    image = new if new is not None else old
    assert image is not None
    return TableChange(kind, {"pk": image["pk"], "sk": image["sk"]}, old, new, "shard-1", "1", AT)


def channel(channel_id: str, **attributes: Any) -> dict[str, Any]:
    return {"pk": f"channel#{channel_id}", "sk": "info", "entityType": "persistentChannel", "channelId": channel_id,
            "channelArn": f"arn:aws:ivs:us-east-1:123456789012:channel/{channel_id}", "channelName": channel_id,
            "state": "IDLE", "streamKey": f"sk_{channel_id}", "createdAt": "2026-12-06T13:00:00.000Z", **attributes}


def assignment(host: str, channel_id: str) -> dict[str, Any]:
    return {"pk": f"host#{host}", "sk": "channel#assignment", "entityType": "channelAssignment",
            "hostUserId": host, "channelId": channel_id, "assignedAt": "2026-12-06T13:00:00.000Z"}


def request(requester: str, status: str = "PENDING") -> dict[str, Any]:
    return {"pk": f"channelRequest#r-{requester}", "sk": "info", "entityType": "channelRequest",
            "requestId": f"r-{requester}", "requesterId": requester, "channelName": "x", "status": status,
            "createdAt": "2026-12-06T13:00:00.000Z"}


def went_live(channel_id: str) -> TableChange:
    return change(channel(channel_id), channel(channel_id, state="LIVE"))


@pytest.fixture
def feed() -> ListFeed:
    return ListFeed()


@pytest.fixture
def client(service: Service, feed: ListFeed) -> Iterator[TestClient]:
    with TestClient(create_app(service, lambda: feed)) as client:
        yield client


class Connection:
    def __init__(self, websocket: Any) -> None:
        self.websocket = websocket

    def init(self, token: str | None) -> dict[str, Any]:
        payload = {} if token is None else {"Authorization": f"Bearer {token}"}
        self.websocket.send_json({"type": "connection_init", "payload": payload})
        return self.websocket.receive_json()

    def subscribe(self, document: str, operation_id: str = "1", variables: dict[str, Any] | None = None) -> None:
        self.websocket.send_json({"id": operation_id, "type": "subscribe",
                                  "payload": {"query": document, "variables": variables or {}}})

    def receive(self) -> dict[str, Any]:
        return self.websocket.receive_json()


def connect(client: TestClient) -> Any:
    return client.websocket_connect("/graphql", subprotocols=PROTOCOL)


def hub_of(client: TestClient) -> live_updates.ChannelEventHub:
    return client.app.state.live_updates  # type: ignore[attr-defined,no-any-return]


def wait_for_subscribers(client: TestClient, count: int) -> None:
    """The subscription is registered once its first read is done (a host's assignment)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if hub_of(client).subscriber_count >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"{count} subscribers expected")


def test_connection_init_without_a_token_is_refused(client: TestClient) -> None:
    with connect(client) as websocket:
        websocket.send_json({"type": "connection_init", "payload": {}})
        with pytest.raises(WebSocketDisconnect) as closed:
            websocket.receive_json()
    assert (closed.value.code, closed.value.reason) == (4403, "Forbidden")


def test_connection_init_with_an_expired_token_is_refused(client: TestClient, tokens: TokenFactory) -> None:
    expired = tokens.id_token("host-1", exp=int(time.time()) - 120)
    with connect(client) as websocket:
        websocket.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {expired}"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            websocket.receive_json()
    assert closed.value.code == 4403


def test_an_admin_receives_each_channels_events(client: TestClient, feed: ListFeed, admin: str) -> None:
    with connect(client) as websocket:
        connection = Connection(websocket)
        assert connection.init(admin) == {"type": "connection_ack"}
        connection.subscribe(CHANNEL_EVENTS)
        wait_for_subscribers(client, 1)
        feed.put(went_live("c1"), went_live("c2"))
        received = [connection.receive(), connection.receive()]
    assert received == [
        {"id": "1", "type": "next", "payload": {"data": {"channelEvents": {
            "kind": "STATE_CHANGED", "channelId": channel_id,
            "channel": {"id": channel_id, "state": "LIVE", "streamKey": f"sk_{channel_id}"}}}}}
        for channel_id in ("c1", "c2")
    ]


def test_channel_id_narrows_to_one_channel(client: TestClient, feed: ListFeed, admin: str) -> None:
    with connect(client) as websocket:
        connection = Connection(websocket)
        connection.init(admin)
        connection.subscribe("subscription($id: ID) { channelEvents(channelId: $id) { channelId } }",
                             variables={"id": "c2"})
        wait_for_subscribers(client, 1)
        feed.put(went_live("c1"), went_live("c2"))
        assert connection.receive()["payload"] == {"data": {"channelEvents": {"channelId": "c2"}}}


def test_a_host_sees_only_its_own_channel_with_its_key(
    client: TestClient, feed: ListFeed, tokens: TokenFactory
) -> None:
    feed.put(change(None, assignment("host-1", "c1")))
    with connect(client) as websocket:
        connection = Connection(websocket)
        connection.init(tokens.host("host-1"))
        connection.subscribe(CHANNEL_EVENTS)
        wait_for_subscribers(client, 1)
        feed.put(change(None, assignment("host-1", "c1")), went_live("c2"), went_live("c1"))
        event = connection.receive()["payload"]["data"]["channelEvents"]
    assert event == {"kind": "STATE_CHANGED", "channelId": "c1",
                     "channel": {"id": "c1", "state": "LIVE", "streamKey": "sk_c1"}}


def test_a_host_unassigned_mid_subscription_stops_receiving(
    client: TestClient, feed: ListFeed, tokens: TokenFactory
) -> None:
    with connect(client) as websocket:
        connection = Connection(websocket)
        connection.init(tokens.host("host-1"))
        connection.subscribe("subscription { channelEvents { kind channelId } }")
        wait_for_subscribers(client, 1)
        feed.put(change(None, assignment("host-1", "c1")), went_live("c1"))
        first = connection.receive()["payload"]["data"]["channelEvents"]
        feed.put(change(assignment("host-1", "c1"), None), went_live("c1"), change(None, assignment("host-1", "c2")),
                 went_live("c2"))
        second = connection.receive()["payload"]["data"]["channelEvents"]
    assert first == {"kind": "STATE_CHANGED", "channelId": "c1"}
    assert second == {"kind": "STATE_CHANGED", "channelId": "c2"}


def test_a_host_receives_its_assignment_before_the_feed_brings_its_assignment_record(
    client: TestClient, feed: ListFeed, tokens: TokenFactory
) -> None:
    with connect(client) as websocket:
        connection = Connection(websocket)
        connection.init(tokens.host("host-1"))
        connection.subscribe("subscription { channelEvents { kind channelId } }")
        wait_for_subscribers(client, 1)
        feed.put(change(channel("c1"), channel("c1", assignedHostIds={"host-2"})),  # someone else's
                 change(channel("c2"), channel("c2", assignedHostIds={"host-1"})))
        event = connection.receive()["payload"]["data"]["channelEvents"]
    assert event == {"kind": "ASSIGNMENTS_CHANGED", "channelId": "c2"}


def test_a_host_receives_only_its_own_requests(client: TestClient, feed: ListFeed, tokens: TokenFactory) -> None:
    with connect(client) as websocket:
        connection = Connection(websocket)
        connection.init(tokens.host("host-1"))
        connection.subscribe(REQUEST_EVENTS)
        wait_for_subscribers(client, 1)
        feed.put(change(None, request("host-2")), change(None, request("host-1")))
        event = connection.receive()["payload"]["data"]["channelRequestEvents"]
    assert event == {"kind": "REQUESTED", "request": {"id": "r-host-1", "requesterId": "host-1", "status": "PENDING"}}


def test_a_subscriber_that_falls_behind_is_ended_with_a_reason(
    client: TestClient, feed: ListFeed, admin: str
) -> None:
    hub = hub_of(client)
    hub.queue_size = 2
    with connect(client) as websocket:
        connection = Connection(websocket)
        connection.init(admin)
        connection.subscribe("subscription { channelEvents { channelId } }")
        wait_for_subscribers(client, 1)
        hub.deliver([live_updates.ChannelEvent(live_updates.ChannelEventKind.STATE_CHANGED, f"c{n}", AT, None)
                     for n in range(5)])
        messages = [connection.receive(), connection.receive()]
    assert messages == [
        {"id": "1", "type": "next", "payload": {"data": None, "errors": [{
            "message": "This subscription fell 2 events behind and was ended; subscribe again.",
            "extensions": {"code": "UPSTREAM_ERROR", "retryable": True, "reason": "SUBSCRIBER_TOO_SLOW"}}]}},
        {"id": "1", "type": "complete"},
    ]


def test_a_connection_is_closed_when_its_token_expires(client: TestClient, tokens: TokenFactory) -> None:
    # Expires 29 s ago: accepted within the 30 s leeway for one more second.
    token = tokens.id_token("admin-1", exp=int(time.time()) - 29)
    with connect(client) as websocket:
        connection = Connection(websocket)
        assert connection.init(token) == {"type": "connection_ack"}
        with pytest.raises(WebSocketDisconnect) as closed:
            connection.receive()
    assert (closed.value.code, closed.value.reason) == (4403, "The token has expired; reconnect with a fresh token.")


def test_multipart_subscription_streams_events(client: TestClient, feed: ListFeed, admin: str) -> None:
    body = {"query": "subscription { channelEvents { kind channelId } }"}
    headers = {"Authorization": f"Bearer {admin}", "Accept": 'multipart/mixed;subscriptionSpec="1.0"',
               "Content-Type": "application/json"}
    with client.stream("POST", "/graphql", json=body, headers=headers) as response:
        wait_for_subscribers(client, 1)
        feed.put(went_live("c1"))
        chunks = ""
        for text in response.iter_text():
            chunks += text
            if "channelEvents" in chunks:
                break
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("multipart/mixed")
    # Each part: its headers, a blank line, its JSON; `{}` parts are the transport's heartbeats.
    parts = [json.loads(part.split("\r\n--")[0]) for part in chunks.split("\r\n\r\n")[1:]]
    assert [part for part in parts if part] == [
        {"payload": {"data": {"channelEvents": {"kind": "STATE_CHANGED", "channelId": "c1"}}}}
    ]


TRUSTED_SUBSCRIPTION = "subscription Trusted { channelEvents { kind channelId } }"


@pytest.fixture
def trusted_only_client(service: Service, feed: ListFeed, tmp_path: Path,
                        aws_connection: AwsConnection) -> Iterator[TestClient]:
    manifest = codegen_manifest(tmp_path / "manifest.json", TRUSTED_SUBSCRIPTION)
    settings = make_settings(table=service.settings.table, trusted_documents=manifest, trusted_documents_only=True)
    other = bootstrap(settings, connection=aws_connection, verifier=service.verifier)
    try:
        with TestClient(create_app(other, lambda: feed)) as client:
            yield client
    finally:
        other.close()


def test_trusted_documents_only_refuses_another_subscription(trusted_only_client: TestClient, admin: str) -> None:
    with connect(trusted_only_client) as websocket:
        connection = Connection(websocket)
        connection.init(admin)
        connection.subscribe("subscription { channelEvents { kind } }")
        refused = connection.receive()
    assert refused == {"id": "1", "type": "error", "payload": [{
        "message": "This service accepts trusted documents only: send a document of its manifest, "
                   'by hash (extensions.persistedQuery or "documentId": "sha256:<hex>") or as its exact text.',
        "extensions": {"code": "PERSISTED_QUERY_NOT_ALLOWED"},
    }]}


def test_trusted_documents_only_runs_a_trusted_subscription_by_id(
    trusted_only_client: TestClient, feed: ListFeed, admin: str
) -> None:
    with connect(trusted_only_client) as websocket:
        connection = Connection(websocket)
        connection.init(admin)
        websocket.send_json({"id": "1", "type": "subscribe",
                             "payload": {"documentId": f"sha256:{sha256_hex(TRUSTED_SUBSCRIPTION)}"}})
        wait_for_subscribers(trusted_only_client, 1)
        feed.put(went_live("c1"))
        received = connection.receive()["payload"]
    assert received == {"data": {"channelEvents": {"kind": "STATE_CHANGED", "channelId": "c1"}}}


def test_a_subscription_document_past_the_bounds_is_refused(client: TestClient, admin: str) -> None:
    aliases = " ".join(f"a{n}: kind" for n in range(40))
    with connect(client) as websocket:
        connection = Connection(websocket)
        connection.init(admin)
        connection.subscribe(f"subscription {{ channelEvents {{ {aliases} }} }}")
        refused = connection.receive()
    assert refused == {"id": "1", "type": "error", "payload": [{
        "message": "40 aliases found. Allowed: 30", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}


def test_a_sessions_service_may_not_subscribe(client: TestClient, tokens: TokenFactory) -> None:
    with connect(client) as websocket:
        connection = Connection(websocket)
        connection.init(tokens.service_token("sessions"))
        connection.subscribe("subscription { channelEvents { kind } }")
        refused = connection.receive()
    assert refused["type"] == "next" and refused["payload"]["data"] is None
    assert [error["extensions"]["code"] for error in refused["payload"]["errors"]] == ["FORBIDDEN"]


def test_a_host_never_receives_the_other_channel_events_an_admin_receives(
    client: TestClient, feed: ListFeed, tokens: TokenFactory, admin: str
) -> None:
    with connect(client) as host_socket, connect(client) as admin_socket:
        host, watcher = Connection(host_socket), Connection(admin_socket)
        host.init(tokens.host("host-1"))
        watcher.init(admin)
        host.subscribe(CHANNEL_EVENTS)
        watcher.subscribe(CHANNEL_EVENTS)
        wait_for_subscribers(client, 2)
        feed.put(change(None, assignment("host-1", "c1")), went_live("c2"), went_live("c1"))
        seen_by_admin = [watcher.receive()["payload"]["data"]["channelEvents"]["channelId"] for _ in range(2)]
        seen_by_host = host.receive()["payload"]["data"]["channelEvents"]
    assert seen_by_admin == ["c2", "c1"]
    assert seen_by_host["channelId"] == "c1"


def _calls_to_deliver_one_change(client: TestClient, service: Service, feed: ListFeed, token: str,
                                 subscribers: int) -> list[str]:
    """The AWS calls (service.operation) this process makes while `subscribers` connections, each
    subscribed with Vista Stream's own document, receive one change: a session started on a channel
    the feed has not shown, so the hub reads the channel (once, whoever listens)."""
    channel_id = f"c-{subscribers}"
    service.clients.dynamodb.put_item(TableName=service.settings.table, Item=to_dynamo(channel(channel_id, state="LIVE")))
    session = {"pk": f"channel#{channel_id}", "sk": "session#1", "entityType": "streamSession",
               "channelId": channel_id, "sessionId": "s-1", "startedAt": "2026-12-06T14:00:00.000Z"}
    document = (Path(__file__).resolve().parents[2] / "operations" / "vista-stream" / "ChannelEvents.graphql").read_text()
    calls: list[str] = []
    clients = [service.clients.dynamodb, service.clients.ivs.resolve(), service.clients.kms.resolve()]

    def record(event_name: str, **_: Any) -> None:
        calls.append(event_name.split(".", 1)[1])

    with contextlib.ExitStack() as stack:
        for aws in clients:
            aws.meta.events.register("before-call", record)
            stack.callback(aws.meta.events.unregister, "before-call", record)
        connections = []
        for _ in range(subscribers):
            connection = Connection(stack.enter_context(connect(client)))
            assert connection.init(token) == {"type": "connection_ack"}
            connection.subscribe(document)
            connections.append(connection)
        wait_for_subscribers(client, subscribers)
        # The first channel subscriber starts the hub's ListStreams poll (every 10 s, whoever listens;
        # docs/live-updates.md), whose answer the `stream` fields read: counted from after its first call.
        deadline = time.monotonic() + 10
        while "ivs.ListStreams" not in calls and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "ivs.ListStreams" in calls
        calls.clear()
        feed.put(change(None, session))
        for connection in connections:
            assert connection.receive()["payload"]["data"]["channelEvents"]["kind"] == "SESSION_STARTED"
        delivered = list(calls)
    return delivered


def test_the_aws_calls_one_change_costs_do_not_grow_with_its_subscribers(
    client: TestClient, service: Service, feed: ListFeed, admin: str
) -> None:
    # CONTRACT.md section 13: delivering costs no backend read per subscriber. Counted at botocore's
    # client for every field Vista Stream's Channel Management page asks (the stream, the hosts).
    one = _calls_to_deliver_one_change(client, service, feed, admin, subscribers=1)
    many = _calls_to_deliver_one_change(client, service, feed, admin, subscribers=12)
    assert one == many == ["dynamodb.GetItem"]
