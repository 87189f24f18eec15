"""Broadcast truth, one readable test per path (docs/broadcasts.md): the platform's create-session and
end-session in both orders with the encoder, a host leaving LIVE while the encoder streams, a late
Stream Start after LOST, stops that hold against an encoder that reconnects, OFFLINE, and LOST that
needs evidence. Each runs through GraphQL against moto and the embedded IVS stand-in.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from app.bootstrap import Service
from embedded.emulator import EmbeddedAws
from embedded.ivs_stand_in import LocalIvsStreamsStandIn
from data.ivs import IvsStream
from services.ivs_events import apply_ivs_event
from services.live_check import check_live
from tests.api import queries
from tests.api.test_errors import create
from tests.api.test_live_streams import SESSIONS, ivs_event
from tests.support import GraphQLClient, TokenFactory, error_codes

SET_STATE = (
    "mutation SetState($channelId: ID!, $state: ChannelState!, $sessionId: String, $hostUserId: ID) {"
    " setChannelState(channelId: $channelId, state: $state, sessionId: $sessionId, hostUserId: $hostUserId) {"
    " id state currentSessionId stats { totalBroadcasts } } }"
)
STOP = ("mutation Stop($id: ID!, $keep: Boolean! = false) { stopBroadcast(channelId: $id, keepStreamKey: $keep) {"
        " state streamKey stats { totalBroadcasts } } }")
CHANNEL = "query($id: ID!) { channel(id: $id) { state currentSessionId streamKey stats { totalBroadcasts } } }"
HOST = "host-1"


@pytest.fixture
def stand_in(aws: EmbeddedAws) -> LocalIvsStreamsStandIn:
    assert aws.ivs_stand_in is not None
    return aws.ivs_stand_in


@pytest.fixture
async def channel(gql: GraphQLClient, admin: str) -> dict[str, Any]:
    created = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": created["id"], "hostUserId": HOST}, token=admin)
    return created


def start_event(stand_in: LocalIvsStreamsStandIn, channel: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What IVS reports once the encoder streams: its stream id and its Stream Start event."""
    stream = stand_in.stream_of(channel["arn"])
    assert stream is not None
    return str(stream["streamId"]), ivs_event("ivs_stream_start", channel["arn"], stream["streamId"], stream["startTime"])


async def shared_channel(gql: GraphQLClient, admin: str, *hosts: str) -> dict[str, Any]:
    shared = await create(gql, admin, assignmentModel="SHARED")
    for host in hosts:
        await gql(queries.ASSIGN, {"channelId": shared["id"], "hostUserId": host}, token=admin)
    return shared


async def set_state(gql: GraphQLClient, token: str, channel_id: str, state: str, **more: Any) -> dict[str, Any]:
    return await gql(SET_STATE, {"channelId": channel_id, "state": state, **more}, token=token)


async def read(gql: GraphQLClient, admin: str, channel_id: str) -> dict[str, Any]:
    return (await gql(CHANNEL, {"id": channel_id}, token=admin))["data"]["channel"]


async def session_nodes(gql: GraphQLClient, admin: str, channel_id: str) -> list[dict[str, Any]]:
    result = await gql(SESSIONS, {"id": channel_id}, token=admin)
    return [edge["node"] for edge in result["data"]["channel"]["sessions"]["edges"]]


# The platform's Phase 2 integration, in both orders


async def test_session_first_then_the_encoder_is_one_broadcast_and_end_session_succeeds(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service, stand_in: LocalIvsStreamsStandIn,
    channel: dict[str, Any],
) -> None:
    platform = tokens.service_token("sessions")
    created = await set_state(gql, platform, channel["id"], "LIVE", sessionId="platform-7")
    assert created["data"]["setChannelState"]["currentSessionId"] == "platform-7"

    stand_in.connect_encoder(channel["streamKey"])
    stream_id, start = start_event(stand_in, channel)
    assert apply_ivs_event(service.backend, start) == "attached to the open session"
    assert check_live(service.backend).went_live == []  # the check agrees: nothing to repair

    ended = await set_state(gql, platform, channel["id"], "IDLE", sessionId="platform-7")
    assert "errors" not in ended
    assert ended["data"]["setChannelState"]["stats"]["totalBroadcasts"] == 1
    assert stand_in.stream_of(channel["arn"]) is None  # leaving LIVE stopped the stream
    [session] = await session_nodes(gql, admin, channel["id"])
    assert (session["sessionId"], session["streamId"], session["endReason"]) == ("platform-7", stream_id, "ENDED_BY_CALLER")


async def test_encoder_first_then_create_session_names_the_open_session(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service, stand_in: LocalIvsStreamsStandIn,
    channel: dict[str, Any],
) -> None:
    stand_in.connect_encoder(channel["streamKey"])
    stream_id, start = start_event(stand_in, channel)
    assert apply_ivs_event(service.backend, start) == "went LIVE"
    platform = tokens.service_token("sessions")

    created = await set_state(gql, platform, channel["id"], "LIVE", sessionId="platform-8")
    again = await set_state(gql, platform, channel["id"], "LIVE", sessionId="platform-8")
    other = await set_state(gql, platform, channel["id"], "LIVE", sessionId="platform-9")

    assert created["data"]["setChannelState"]["currentSessionId"] == "platform-8"
    assert again["data"]["setChannelState"]["currentSessionId"] == "platform-8"
    assert error_codes(other) == ["CONFLICT"]
    ended = await set_state(gql, platform, channel["id"], "IDLE", sessionId="platform-8")
    assert ended["data"]["setChannelState"]["stats"]["totalBroadcasts"] == 1
    [session] = await session_nodes(gql, admin, channel["id"])
    assert (session["sessionId"], session["streamId"]) == ("platform-8", stream_id)


# Where IVS and the table disagree


async def test_a_host_leaving_live_stops_the_stream_and_a_later_check_counts_nothing_again(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service, stand_in: LocalIvsStreamsStandIn,
    channel: dict[str, Any],
) -> None:
    host = tokens.host(HOST)
    stand_in.connect_encoder(channel["streamKey"])
    _, start = start_event(stand_in, channel)
    apply_ivs_event(service.backend, start)

    await set_state(gql, host, channel["id"], "IDLE")
    check_live(service.backend)
    apply_ivs_event(service.backend, start)  # IVS's start, delivered again late

    after = await read(gql, admin, channel["id"])
    assert (after["state"], after["stats"]["totalBroadcasts"]) == ("IDLE", 1)
    assert stand_in.stream_of(channel["arn"]) is None


async def test_a_late_stream_start_after_the_check_ended_it_as_lost_opens_nothing(
    gql: GraphQLClient, admin: str, service: Service, stand_in: LocalIvsStreamsStandIn, channel: dict[str, Any],
) -> None:
    stand_in.connect_encoder(channel["streamKey"])
    stream_id, start = start_event(stand_in, channel)
    check_live(service.backend)  # LIVE from the stream, no event seen
    stand_in.disconnect_encoder(channel["arn"])  # the encoder stops; IVS's events are delayed
    later = dataclasses.replace(service.backend, clock=lambda: service.backend.clock() + timedelta(minutes=5))
    check_live(later)
    assert check_live(later).lost == [channel["id"]]

    assert apply_ivs_event(service.backend, start) == "already applied: the stream has its session"
    after = await read(gql, admin, channel["id"])
    assert (after["state"], after["stats"]["totalBroadcasts"]) == ("IDLE", 1)
    [session] = await session_nodes(gql, admin, channel["id"])
    assert (session["streamId"], session["endReason"]) == (stream_id, "LOST")


async def test_two_checks_a_second_apart_do_not_end_a_live_channel(
    gql: GraphQLClient, admin: str, service: Service, stand_in: LocalIvsStreamsStandIn, channel: dict[str, Any],
) -> None:
    stand_in.connect_encoder(channel["streamKey"])
    check_live(service.backend)
    stand_in.disconnect_encoder(channel["arn"])
    now = service.backend.clock()
    first = check_live(dataclasses.replace(service.backend, clock=lambda: now))
    second = check_live(dataclasses.replace(service.backend, clock=lambda: now + timedelta(seconds=1)))
    assert (first.missed_once, second.lost, second.waiting) == ([channel["id"]], [], [channel["id"]])
    assert (await read(gql, admin, channel["id"]))["state"] == "LIVE"


async def test_a_lost_session_ends_when_ivs_last_saw_it_and_its_minutes_agree(
    gql: GraphQLClient, admin: str, service: Service, stand_in: LocalIvsStreamsStandIn, channel: dict[str, Any],
) -> None:
    stand_in.connect_encoder(channel["streamKey"])
    check_live(service.backend)
    live = service.backend.channels.get_channel(channel["id"])
    assert live is not None and live.live_since is not None
    seen_at = live.live_since + timedelta(minutes=12)
    check_live(dataclasses.replace(service.backend, clock=lambda: seen_at))
    stand_in.disconnect_encoder(channel["arn"])
    much_later = dataclasses.replace(service.backend, clock=lambda: seen_at + timedelta(hours=2))
    check_live(much_later)
    assert check_live(much_later).lost == [channel["id"]]

    [session] = await session_nodes(gql, admin, channel["id"])
    assert session["endedAt"] == seen_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert session["durationMinutes"] == 12.0


def test_only_live_streams_count_as_broadcasting(service: Service, channel: dict[str, Any]) -> None:
    class OfflineStreamIvs:
        """IVS listing a stream that is not LIVE (ListStreams may)."""

        def __init__(self, ivs: Any) -> None:
            self._ivs = ivs

        def list_streams(self) -> list[IvsStream]:
            return [IvsStream(channel["arn"], "st-offline", service.backend.clock(), "UNKNOWN", 0, state="OFFLINE")]

        def __getattr__(self, name: str) -> Any:
            return getattr(self._ivs, name)

    backend = dataclasses.replace(service.backend, ivs=OfflineStreamIvs(service.backend.ivs))  # type: ignore[arg-type]
    assert check_live(backend).went_live == []


# Stops that hold


async def test_stop_broadcast_revokes_the_key_first_so_a_reconnecting_encoder_stays_off(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service, stand_in: LocalIvsStreamsStandIn,
    channel: dict[str, Any],
) -> None:
    stand_in.connect_encoder(channel["streamKey"], reconnect=True)
    _, start = start_event(stand_in, channel)
    apply_ivs_event(service.backend, start)

    stopped = (await gql(STOP, {"id": channel["id"]}, token=admin))["data"]["stopBroadcast"]

    assert stopped["state"] == "IDLE" and stopped["streamKey"] not in (None, channel["streamKey"])
    assert stand_in.stream_of(channel["arn"]) is None  # the encoder's reconnect was refused
    assert check_live(service.backend).went_live == []
    host_view = await gql(queries.MY_CHANNEL, token=tokens.host(HOST))
    assert host_view["data"]["myChannel"]["channel"]["streamKey"] == stopped["streamKey"]


async def test_stop_broadcast_keeping_the_key_lets_the_encoder_reconnect_as_a_new_broadcast(
    gql: GraphQLClient, admin: str, service: Service, stand_in: LocalIvsStreamsStandIn, channel: dict[str, Any],
) -> None:
    stand_in.connect_encoder(channel["streamKey"], reconnect=True)
    first, start = start_event(stand_in, channel)
    apply_ivs_event(service.backend, start)

    stopped = (await gql(STOP, {"id": channel["id"], "keep": True}, token=admin))["data"]["stopBroadcast"]

    assert stopped["streamKey"] == channel["streamKey"]
    second, _ = start_event(stand_in, channel)  # the encoder reconnected with its key
    assert second != first
    assert check_live(service.backend).went_live == [channel["id"]]
    assert (await read(gql, admin, channel["id"]))["stats"]["totalBroadcasts"] == 2


async def test_offline_deletes_the_key_before_stopping_so_the_encoder_cannot_reconnect(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service, stand_in: LocalIvsStreamsStandIn,
    channel: dict[str, Any],
) -> None:
    stand_in.connect_encoder(channel["streamKey"], reconnect=True)
    _, start = start_event(stand_in, channel)
    apply_ivs_event(service.backend, start)

    offline = await set_state(gql, admin, channel["id"], "OFFLINE")

    assert offline["data"]["setChannelState"]["state"] == "OFFLINE"
    assert stand_in.stream_of(channel["arn"]) is None
    assert (await read(gql, admin, channel["id"]))["streamKey"] is None
    for token in (tokens.host(HOST), tokens.service_token("sessions")):
        refused = await set_state(gql, token, channel["id"], "IDLE")
        assert error_codes(refused) == ["FORBIDDEN"]
        assert refused["errors"][0]["message"] == (
            f"Channel '{channel['id']}' is OFFLINE; only admins bring a channel back from OFFLINE.")
    assert (await set_state(gql, admin, channel["id"], "IDLE"))["data"]["setChannelState"]["state"] == "IDLE"


# Who broadcast


async def test_admins_and_services_name_the_host_who_broadcasts_on_a_shared_channel(
    gql: GraphQLClient, admin: str, tokens: TokenFactory,
) -> None:
    shared = await shared_channel(gql, admin, "host-a", "host-b")

    unassigned = await set_state(gql, admin, shared["id"], "LIVE", hostUserId="host-z")
    as_other_host = await set_state(gql, tokens.host("host-a"), shared["id"], "LIVE", hostUserId="host-b")
    named = await set_state(gql, tokens.service_token("sessions"), shared["id"], "LIVE", hostUserId="host-b")

    assert error_codes(unassigned) == ["BAD_USER_INPUT"]
    assert unassigned["errors"][0]["message"] == f"Host 'host-z' is not assigned to channel '{shared['id']}'."
    assert error_codes(as_other_host) == ["FORBIDDEN"]
    assert "errors" not in named
    [session] = await session_nodes(gql, admin, shared["id"])
    assert session["hostUserId"] == "host-b"


async def test_encoder_first_on_a_shared_channel_the_platform_names_the_session_and_its_host(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service, stand_in: LocalIvsStreamsStandIn,
) -> None:
    shared = await shared_channel(gql, admin, "host-a", "host-b")
    stand_in.connect_encoder(shared["streamKey"])
    _, start = start_event(stand_in, shared)
    apply_ivs_event(service.backend, start)  # IVS opened it: nobody to attribute it to among two hosts
    assert (await session_nodes(gql, admin, shared["id"]))[0]["hostUserId"] is None

    named = await set_state(gql, tokens.service_token("sessions"), shared["id"], "LIVE", sessionId="platform-3",
                            hostUserId="host-a")

    assert named["data"]["setChannelState"]["currentSessionId"] == "platform-3"
    [session] = await session_nodes(gql, admin, shared["id"])
    assert (session["sessionId"], session["hostUserId"]) == ("platform-3", "host-a")
