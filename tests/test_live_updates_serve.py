"""Live updates against a running embedded `serve` (CONTRACT.md section 13): a real WebSocket
(graphql-transport-ws) and a real multipart stream, fed by the table's DynamoDB stream, with events
written by this serve's mutations and by other processes (`simulate-broadcast`, which plays IVS's
events through the events function's path)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from domain.clock import format_timestamp
from embedded.emulator import EMBEDDED_CREDENTIALS, EMBEDDED_REGION
from embedded.registry import find_running
from tests.test_cli import ROOT, Served, graphql, service_environment, serving
from tests.test_live_commands import command, read_lines

pytestmark = pytest.mark.slow  # `serve` and the commands run as processes; `make test-fast` skips them

CREATE = 'mutation($name: String!) { createChannel(input: {name: $name}) { id } }'
LIVE = 'mutation($id: ID!) { setChannelState(channelId: $id, state: LIVE) { state } }'
ASSIGN = "mutation($channelId: ID!, $hostUserId: ID!) { assignChannel(channelId: $channelId, hostUserId: $hostUserId) { channelId } }"
BOOK = "mutation($input: BookSlotInput!) { bookSlot(input: $input) { id } }"
MOVE = "mutation($id: ID!, $startsAt: DateTime!, $endsAt: DateTime!) { moveSlot(id: $id, startsAt: $startsAt, endsAt: $endsAt) { id } }"
CANCEL = "mutation($id: ID!) { cancelSlot(id: $id) { id } }"
OFFLINE = 'mutation($id: ID!) { setChannelState(channelId: $id, state: OFFLINE) { state } }'
EVENTS = "subscription($id: ID) { channelEvents(channelId: $id) { kind channelId channel { state } } }"
PROTOCOL: Any = "graphql-transport-ws"
WAIT_SECONDS = 30  # an event arrives within 2 s p95 (CONTRACT.md section 13); generous for a loaded machine


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving([sys.executable, "-m", "commands.cli", "serve"], tmp_path_factory.mktemp("live-updates")) as running:
        yield running


def websocket_url(served: Served) -> str:
    return served.base_url.replace("http", "ws", 1) + "/graphql"


@contextlib.contextmanager
def subscribed(
    served: Served, authorization: str, document: str, variables: dict[str, Any]
) -> Iterator[ClientConnection]:
    with connect(websocket_url(served), subprotocols=[PROTOCOL], open_timeout=WAIT_SECONDS) as websocket:
        websocket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": authorization}}))
        assert json.loads(websocket.recv(timeout=WAIT_SECONDS)) == {"type": "connection_ack"}
        websocket.send(json.dumps({"id": "1", "type": "subscribe",
                                   "payload": {"query": document, "variables": variables}}))
        yield websocket


def next_event(websocket: ClientConnection) -> dict[str, Any]:
    message = json.loads(websocket.recv(timeout=WAIT_SECONDS))
    assert message["type"] == "next", message
    return message["payload"]["data"]["channelEvents"]  # type: ignore[no-any-return]


def create_channel(served: Served, name: str) -> str:
    return str(graphql(served, CREATE, served.admin_authorization, {"name": name})["data"]["createChannel"]["id"])


def events_of(websocket: ClientConnection, channel_id: str, count: int) -> list[dict[str, Any]]:
    """The next `count` events about one channel (the serve is shared: other tests' channels change too)."""
    events: list[dict[str, Any]] = []
    while len(events) < count:
        event = next_event(websocket)
        if event["channelId"] == channel_id:
            events.append(event)
    return events


def test_mutations_reach_a_websocket_subscriber(served: Served) -> None:
    with subscribed(served, served.admin_authorization, EVENTS, {}) as websocket:
        _wait_until_listening(served)
        channel_id = create_channel(served, "Watched")
        graphql(served, OFFLINE, served.admin_authorization, {"id": channel_id})
        events = events_of(websocket, channel_id, 2)
    assert events == [
        {"kind": "CREATED", "channelId": channel_id, "channel": {"state": "IDLE"}},
        {"kind": "STATE_CHANGED", "channelId": channel_id, "channel": {"state": "OFFLINE"}},
    ]


def test_a_booked_moved_and_cancelled_slot_reaches_a_subscriber_as_schedule_changes(served: Served) -> None:
    # The seam of issues 26 and 27: slot records (entityType channelSlot) become SCHEDULE_CHANGED; their
    # time entries and the schedule's version item (in the channel's partition) become nothing.
    channel = graphql(served, 'mutation { createChannel(input: {name: "Shared", assignmentModel: SHARED}) { id } }',
                      served.admin_authorization, {})["data"]["createChannel"]["id"]
    graphql(served, ASSIGN, served.admin_authorization, {"channelId": channel, "hostUserId": "host-scheduled"})
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    document = "subscription($id: ID) { channelEvents(channelId: $id) { kind channelId } }"
    with subscribed(served, served.admin_authorization, document, {"id": channel}) as websocket:
        _wait_until_listening(served)
        slot = graphql(served, BOOK, served.admin_authorization, {"input": {
            "channelId": channel, "hostUserId": "host-scheduled",
            "startsAt": format_timestamp(start), "endsAt": format_timestamp(start + timedelta(hours=1))}})
        slot_id = slot["data"]["bookSlot"]["id"]
        graphql(served, MOVE, served.admin_authorization, {
            "id": slot_id, "startsAt": format_timestamp(start + timedelta(hours=1)),
            "endsAt": format_timestamp(start + timedelta(hours=2))})
        graphql(served, CANCEL, served.admin_authorization, {"id": slot_id})
        graphql(served, OFFLINE, served.admin_authorization, {"id": channel})
        kinds = []
        while "STATE_CHANGED" not in kinds:
            kinds.append(next_event(websocket)["kind"])
    # (its CREATED and ASSIGNMENTS_CHANGED may come first: the subscription began after those writes)
    assert [kind for kind in kinds if kind not in ("CREATED", "ASSIGNMENTS_CHANGED")] == [
        "SCHEDULE_CHANGED", "SCHEDULE_CHANGED", "SCHEDULE_CHANGED", "STATE_CHANGED"]


def test_a_rotated_key_is_one_event_whose_channel_shows_the_new_key_to_an_admin(served: Served) -> None:
    channel_id = create_channel(served, "Rotated")
    document = "subscription($id: ID) { channelEvents(channelId: $id) { kind channel { streamKey } } }"
    with subscribed(served, served.admin_authorization, document, {"id": channel_id}) as websocket:
        _wait_until_listening(served)
        rotated = graphql(served, 'mutation($id: ID!) { rotateStreamKey(channelId: $id) { streamKey } }',
                          served.admin_authorization, {"id": channel_id})["data"]["rotateStreamKey"]["streamKey"]
        graphql(served, OFFLINE, served.admin_authorization, {"id": channel_id})
        events = []
        while not events or events[-1]["kind"] != "STATE_CHANGED":
            events.append(json.loads(websocket.recv(timeout=WAIT_SECONDS))["payload"]["data"]["channelEvents"])
    # (its CREATED may come first: the subscription began after the write.) The rotation's first step,
    # the key cleared under its lease, is no event: one STREAM_KEY_CHANGED, with the new key.
    assert [event for event in events if event["kind"] != "CREATED"] == [
        {"kind": "STREAM_KEY_CHANGED", "channel": {"streamKey": rotated}},
        {"kind": "STATE_CHANGED", "channel": {"streamKey": None}},
    ]


def test_a_broadcast_from_another_process_reaches_a_subscriber(served: Served) -> None:
    channel_id = create_channel(served, "Broadcast")
    with subscribed(served, served.admin_authorization, EVENTS, {"id": channel_id}) as websocket:
        # (its CREATED may still be on its way: the subscription began after the write)
        _wait_until_listening(served)
        with command(served, "simulate-broadcast", channel_id, "--seconds", "60") as process:
            lines = read_lines(process)
            lines.get(timeout=60)  # which serve it acts on
            assert lines.get(timeout=60).rstrip().endswith("went LIVE")
            kinds = {(event["kind"], event["channel"]["state"]) for event in events_of(websocket, channel_id, 3)}
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    assert kinds - {("CREATED", "IDLE")} == {("STATE_CHANGED", "LIVE"), ("SESSION_STARTED", "LIVE")}


def test_the_live_state_check_in_another_process_reaches_a_subscriber(served: Served) -> None:
    channel_id = create_channel(served, "Lost")
    with subscribed(served, served.admin_authorization, EVENTS, {"id": channel_id}) as websocket:
        _wait_until_listening(served)
        # LIVE by hand, with no stream on IVS: the check notes the miss, then a later one ends it as LOST.
        graphql(served, LIVE, served.admin_authorization, {"id": channel_id})
        for _ in range(2):
            check_live(served)
            time.sleep(1.5)
        seen: set[tuple[str, str]] = set()
        while ("SESSION_ENDED", "IDLE") not in seen or ("STATE_CHANGED", "IDLE") not in seen:
            event = events_of(websocket, channel_id, 1)[0]
            seen.add((event["kind"], event["channel"]["state"]))
    # (its CREATED may still be on its way: the subscription began after the write)
    assert seen - {("CREATED", "IDLE")} == {("STATE_CHANGED", "LIVE"), ("SESSION_STARTED", "LIVE"),
                                            ("STATE_CHANGED", "IDLE"), ("SESSION_ENDED", "IDLE")}


def test_reconcile_in_another_process_reaches_a_subscriber(served: Served) -> None:
    create = 'mutation { createChannel(input: {name: "Gone"}) { id arn } }'
    created = graphql(served, create, served.admin_authorization)
    channel_id, arn = created["data"]["createChannel"]["id"], created["data"]["createChannel"]["arn"]
    with subscribed(served, served.admin_authorization, EVENTS, {"id": channel_id}) as websocket:
        _wait_until_listening(served)
        running = find_running(served.dev_dir)
        assert running is not None
        access_key, secret_key = EMBEDDED_CREDENTIALS
        ivs = boto3.client("ivs", region_name=EMBEDDED_REGION, endpoint_url=running.endpoint_url,
                           aws_access_key_id=access_key, aws_secret_access_key=secret_key)
        ivs.delete_channel(arn=arn)  # IVS lost the channel: reconcile sets its record OFFLINE
        done = subprocess.run([sys.executable, "-m", "commands.cli", "reconcile", "--apply"], cwd=ROOT,
                              env=service_environment(served.dev_dir), capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, done.stderr
        event = next(event for event in iter(lambda: events_of(websocket, channel_id, 1)[0], None)
                     if event["kind"] != "CREATED")
    assert event == {"kind": "STATE_CHANGED", "channelId": channel_id, "channel": {"state": "OFFLINE"}}


def check_live(served: Served) -> None:
    environment = {**service_environment(served.dev_dir), "CHANNELS_LOST_AFTER_SECONDS": "1"}
    done = subprocess.run([sys.executable, "-m", "commands.cli", "check-live"], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def test_a_websocket_without_a_token_is_refused(served: Served) -> None:
    with connect(websocket_url(served), subprotocols=[PROTOCOL]) as websocket:
        websocket.send(json.dumps({"type": "connection_init", "payload": {}}))
        with pytest.raises(ConnectionClosed) as closed:
            websocket.recv(timeout=WAIT_SECONDS)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_a_mutation_reaches_a_multipart_subscriber(served: Served) -> None:
    headers = {"Authorization": served.admin_authorization, "Accept": 'multipart/mixed;subscriptionSpec="1.0"'}
    body = {"query": EVENTS, "variables": {}}
    url = f"{served.base_url}/graphql"
    with httpx.stream("POST", url, json=body, headers=headers, timeout=WAIT_SECONDS) as response:
        _wait_until_listening(served)
        channel_id = create_channel(served, "Multipart")
        received = ""
        for text in response.iter_text():
            received += text
            if channel_id in received:
                break
    assert response.headers["content-type"].startswith("multipart/mixed")
    parts = [json.loads(part.split("\r\n--")[0]) for part in received.split("\r\n\r\n")[1:]]
    assert [part for part in parts if part][-1] == {"payload": {"data": {"channelEvents": {
        "kind": "CREATED", "channelId": channel_id, "channel": {"state": "IDLE"}}}}}


def test_sigterm_closes_websockets_with_service_restart(tmp_path: Path) -> None:
    with serving([sys.executable, "-m", "commands.cli", "serve"], tmp_path) as running:
        with subscribed(running, running.admin_authorization, EVENTS, {}) as websocket:
            _wait_until_listening(running)
            os.kill(running.pid, signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                websocket.recv(timeout=WAIT_SECONDS)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012  # RFC 6455's "Service Restart"


def _wait_until_listening(served: Served) -> None:
    """A subscription is registered once its `subscribe` is processed: one round trip on another
    connection gives the server that turn (the subscribe was sent first)."""
    httpx.get(f"{served.base_url}/healthz", timeout=WAIT_SECONDS)


def test_serve_without_live_updates_has_a_table_without_a_stream_and_says_so(tmp_path: Path) -> None:
    # `make run LIVE_UPDATES=off`: a long session whose writes stay fast (docs/live-updates.md).
    with serving([sys.executable, "-m", "commands.cli", "serve", "--without-live-updates"], tmp_path) as off:
        running = find_running(off.dev_dir)
        assert running is not None
        access_key, secret_key = EMBEDDED_CREDENTIALS
        dynamodb = boto3.client("dynamodb", region_name=EMBEDDED_REGION, endpoint_url=running.endpoint_url,
                                aws_access_key_id=access_key, aws_secret_access_key=secret_key)
        (name,) = dynamodb.list_tables()["TableNames"]  # the embedded emulator's one table
        table = dynamodb.describe_table(TableName=name)["Table"]
        with subscribed(off, off.admin_authorization, EVENTS, {}) as websocket:
            refused = json.loads(websocket.recv(timeout=WAIT_SECONDS))
    assert "StreamSpecification" not in table
    assert refused["payload"]["errors"] == [{
        "message": "Live updates are off in this deployment (`serve --without-live-updates`, "
                   "CHANNELS_LIVE_UPDATES=off): it serves no subscriptions (docs/live-updates.md).",
        "extensions": {"code": "UPSTREAM_ERROR", "retryable": False, "reason": "LIVE_UPDATES_OFF"}}]
    assert ("shelcaster-channels: live updates are off (--without-live-updates or CHANNELS_LIVE_UPDATES=off): "
            "subscriptions answer UPSTREAM_ERROR") in (tmp_path / "stderr.log").read_text().splitlines()
