"""Channel.sessions and Channel.stream through GraphQL on the embedded backend (CONTRACT.md section 7)."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.bootstrap import Service
from embedded.emulator import EmbeddedAws
from embedded.ivs_stand_in import LocalIvsStreamsStandIn
from services.backend import ChannelsBackend
from services.ivs_events import apply_ivs_event
from tests.api import queries
from tests.api.test_errors import create
from tests.faults import Spy
from tests.support import GraphQLClient, TokenFactory, error_codes

SAMPLES = Path(__file__).resolve().parents[1] / "events" / "samples"
SESSIONS = (
    "query Sessions($id: ID!, $first: Int! = 20, $after: String) { channel(id: $id) {"
    " sessions(first: $first, after: $after) { edges { cursor node { sessionId streamId startedAt endedAt"
    " durationMinutes hostUserId endReason recording { status } } } pageInfo { hasNextPage endCursor } } } }"
)
STREAM = "query Stream($id: ID!) { channel(id: $id) { streamKey stream { streamId startedAt health viewerCount } } }"


def ivs_event(name: str, arn: str, stream_id: str, time: str) -> dict[str, Any]:
    event = copy.deepcopy(json.loads((SAMPLES / f"{name}.json").read_text()))
    event["resources"] = [arn]
    event["detail"]["stream_id"] = stream_id
    event["time"] = time
    return event


@pytest.fixture
def stand_in(aws: EmbeddedAws) -> LocalIvsStreamsStandIn:
    assert aws.ivs_stand_in is not None
    return aws.ivs_stand_in


@pytest.fixture
def events_backend(service: Service) -> ChannelsBackend:
    """The backend IVS's events are applied with, its clock on the events' day (their time window)."""
    return dataclasses.replace(service.backend, clock=lambda: datetime(2030, 1, 1, 12, tzinfo=UTC))


def live_stream(stand_in: LocalIvsStreamsStandIn, channel: dict[str, Any]) -> str:
    """An encoder connects with the channel's key: the id of the stream IVS reports live."""
    stand_in.connect_encoder(channel["streamKey"])
    stream = stand_in.stream_of(channel["arn"])
    assert stream is not None
    return str(stream["streamId"])


async def set_state(gql: GraphQLClient, token: str, channel_id: str, state: str) -> dict[str, Any]:
    result = await gql(queries.SET_STATE, {"channelId": channel_id, "state": state}, token=token)
    assert "errors" not in result, result
    return result["data"]["setChannelState"]


async def sessions(gql: GraphQLClient, token: str, channel_id: str, **variables: Any) -> dict[str, Any]:
    result = await gql(SESSIONS, {"id": channel_id, **variables}, token=token)
    assert "errors" not in result, result
    return result["data"]["channel"]["sessions"]


async def test_each_broadcast_is_a_session_newest_first_with_host_and_reason(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, events_backend: ChannelsBackend,
    stand_in: LocalIvsStreamsStandIn,
) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "host-1"}, token=admin)
    host = tokens.host("host-1")
    first_live = await set_state(gql, host, channel["id"], "LIVE")
    await set_state(gql, host, channel["id"], "IDLE")
    # The second broadcast is reported by IVS: its host is the channel's only host.
    stream_id = live_stream(stand_in, channel)
    assert apply_ivs_event(events_backend, ivs_event("ivs_stream_start", channel["arn"], stream_id,
                                                     "2030-01-01T10:00:00Z")) == "went LIVE"
    assert apply_ivs_event(events_backend, ivs_event("ivs_stream_start", channel["arn"], stream_id,
                                                     "2030-01-01T10:00:00Z")) == "already applied: the stream has its session"
    assert apply_ivs_event(events_backend, ivs_event("ivs_stream_end", channel["arn"], stream_id,
                                                     "2030-01-01T10:30:00Z")) == "went IDLE"

    page = await sessions(gql, admin, channel["id"])

    nodes = [edge["node"] for edge in page["edges"]]
    assert [(n["sessionId"], n["hostUserId"], n["endReason"]) for n in nodes] == [
        (stream_id, "host-1", "STREAM_ENDED"),
        (first_live["currentSessionId"], "host-1", "ENDED_BY_CALLER"),
    ]
    assert nodes[0]["streamId"] == stream_id and nodes[1]["streamId"] is None
    assert nodes[0]["startedAt"] == "2030-01-01T10:00:00.000Z" and nodes[0]["endedAt"] == "2030-01-01T10:30:00.000Z"
    assert nodes[0]["durationMinutes"] == 30.0
    assert page["pageInfo"]["hasNextPage"] is False


async def test_an_open_session_has_no_end_and_a_recording_is_attached_to_its_session(
    gql: GraphQLClient, admin: str, events_backend: ChannelsBackend, stand_in: LocalIvsStreamsStandIn
) -> None:
    channel = await create(gql, admin)
    stream_id = live_stream(stand_in, channel)
    apply_ivs_event(events_backend, ivs_event("ivs_stream_start", channel["arn"], stream_id, "2030-01-01T10:00:00Z"))

    [open_session] = [e["node"] for e in (await sessions(gql, admin, channel["id"]))["edges"]]
    assert (open_session["endedAt"], open_session["endReason"], open_session["hostUserId"]) == (None, None, None)

    apply_ivs_event(events_backend, ivs_event("ivs_stream_end", channel["arn"], stream_id, "2030-01-01T10:20:00Z"))
    recording = ivs_event("ivs_recording_end", channel["arn"], stream_id, "2030-01-01T10:20:05Z")
    assert apply_ivs_event(events_backend, recording) == (
        "recording Recording End: kept as the channel's last recording; attached to 1 session")

    [closed] = [e["node"] for e in (await sessions(gql, admin, channel["id"]))["edges"]]
    assert closed["recording"] == {"status": "Recording End"}


async def test_an_end_that_arrives_before_its_start_is_one_whole_session(
    gql: GraphQLClient, admin: str, events_backend: ChannelsBackend
) -> None:
    channel = await create(gql, admin)
    stream_id = "st-4AbCdEfGhIjKlMnOpQrStUv"  # IVS no longer streams it: both events are late
    apply_ivs_event(events_backend, ivs_event("ivs_stream_end", channel["arn"], stream_id, "2030-01-01T11:00:00Z"))
    apply_ivs_event(events_backend, ivs_event("ivs_stream_start", channel["arn"], stream_id, "2030-01-01T10:00:00Z"))
    apply_ivs_event(events_backend, ivs_event("ivs_stream_start", channel["arn"], stream_id, "2030-01-01T10:00:00Z"))

    nodes = [e["node"] for e in (await sessions(gql, admin, channel["id"]))["edges"]]

    assert [(n["sessionId"], n["durationMinutes"], n["endReason"]) for n in nodes] == [(stream_id, 60.0, "STREAM_ENDED")]


async def test_sessions_page_with_cursors_at_one_query_per_channel(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    channel = await create(gql, admin)
    for _ in range(3):
        await set_state(gql, admin, channel["id"], "LIVE")
        await set_state(gql, admin, channel["id"], "IDLE")

    with Spy(service.clients.dynamodb) as spy:
        first = await sessions(gql, admin, channel["id"], first=2)
    second = await sessions(gql, admin, channel["id"], first=2, after=first["pageInfo"]["endCursor"])

    assert spy.operations == ["BatchGetItem", "Query"]
    assert len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"] is True
    assert len(second["edges"]) == 1 and second["pageInfo"]["hasNextPage"] is False
    started = [e["node"]["startedAt"] for e in first["edges"] + second["edges"]]
    assert started == sorted(started, reverse=True)


@pytest.mark.parametrize(("variables", "message"), [
    ({"first": 0}, "'first' must be between 1 and 100, got 0."),
    ({"first": 101}, "'first' must be between 1 and 100, got 101."),
    ({"after": "bm90LWEtY3Vyc29y"}, "'after' is not a cursor this service returned for these sessions."),
    # Forged: "session#0001-01-01T00:00:00+01:00#x", a timestamp whose UTC falls before year 1.
    ({"after": "c2Vzc2lvbiMwMDAxLTAxLTAxVDAwOjAwOjAwKzAxOjAwI3g"},
     "'after' is not a cursor this service returned for these sessions."),
], ids=["first-0", "first-101", "not-a-cursor", "timestamp-overflows-utc"])
async def test_bad_page_arguments_are_bad_user_input(
    gql: GraphQLClient, admin: str, variables: dict[str, Any], message: str
) -> None:
    channel = await create(gql, admin)

    result = await gql(SESSIONS, {"id": channel["id"], **variables}, token=admin)

    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["message"] == message


async def test_a_host_of_another_channel_sees_no_stream_and_no_sessions(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, stand_in: LocalIvsStreamsStandIn
) -> None:
    channel = await create(gql, admin)
    other = await create(gql, admin, name="Other")
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "host-1"}, token=admin)
    await gql(queries.ASSIGN, {"channelId": other["id"], "hostUserId": "host-2"}, token=admin)
    await set_state(gql, admin, channel["id"], "LIVE")
    stand_in.connect_encoder(channel["streamKey"], viewers=3)

    own = await gql(STREAM, {"id": channel["id"]}, token=tokens.host("host-1"))
    # channel(id) is null for a host of another channel; through their own assignment the fields are hidden too.
    foreign = await gql(SESSIONS, {"id": channel["id"]}, token=tokens.host("host-2"))

    assert own["data"]["channel"]["stream"]["viewerCount"] == 3
    assert foreign["data"]["channel"] is None


async def test_stream_is_what_ivs_reports_and_null_without_a_stream(
    gql: GraphQLClient, admin: str, stand_in: LocalIvsStreamsStandIn
) -> None:
    channel = await create(gql, admin)
    assert (await gql(STREAM, {"id": channel["id"]}, token=admin))["data"]["channel"]["stream"] is None

    stand_in.connect_encoder(channel["streamKey"], viewers=42)
    stream = (await gql(STREAM, {"id": channel["id"]}, token=admin))["data"]["channel"]["stream"]

    assert stream["streamId"].startswith("st-") and stream["health"] == "HEALTHY" and stream["viewerCount"] == 42


@pytest.mark.parametrize("settings", [{"limit": 30}], indirect=True)
async def test_a_page_of_20_with_stream_costs_its_dynamodb_calls_and_one_ivs_call(
    gql: GraphQLClient, admin: str, service: Service, stand_in: LocalIvsStreamsStandIn
) -> None:
    channels = [await create(gql, admin, name=f"C{n}") for n in range(20)]
    for channel in channels[:5]:
        stand_in.connect_encoder(channel["streamKey"], viewers=1)
    service.backend.live_streams.forget()
    page = "{ channels(first: 20) { edges { node { id stream { viewerCount } } } } }"

    with Spy(service.clients.dynamodb, service.clients.ivs) as spy:
        result = await gql(page, token=admin)

    edges = result["data"]["channels"]["edges"]
    assert sum(1 for edge in edges if edge["node"]["stream"]) == 5
    assert spy.operations == ["Query", "ListStreams"]
