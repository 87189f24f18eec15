"""The live-state check on the embedded backend: what IVS streams against what the table says
(CONTRACT.md section 7), seen through GraphQL."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from app.bootstrap import Service
from embedded.emulator import EmbeddedAws
from embedded.ivs_stand_in import LocalIvsStreamsStandIn
from domain.access import Caller
from domain.errors import InvalidStateTransition
from domain.model import ChannelState
from services.ivs_events import apply_ivs_event
from services.live_check import check_live
from services.stream_control import stop_broadcast
from tests.api import queries
from tests.concurrency import race
from tests.api.test_errors import create
from tests.api.test_live_streams import SESSIONS, ivs_event, set_state
from tests.support import GraphQLClient

STATE = "query($id: ID!) { channel(id: $id) { state currentSessionId liveSince stats { totalBroadcasts totalStreamingMinutes } } }"
ADMIN = Caller("admin-1", is_admin=True)


@pytest.fixture
def stand_in(aws: EmbeddedAws) -> LocalIvsStreamsStandIn:
    assert aws.ivs_stand_in is not None
    return aws.ivs_stand_in


async def state_of(gql: GraphQLClient, admin: str, channel_id: str) -> dict[str, Any]:
    return (await gql(STATE, {"id": channel_id}, token=admin))["data"]["channel"]


async def test_a_stream_ivs_reports_without_an_event_goes_live_after_a_check(
    gql: GraphQLClient, admin: str, service: Service, stand_in: LocalIvsStreamsStandIn
) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "host-1"}, token=admin)
    stand_in.connect_encoder(channel["streamKey"], viewers=2)
    stream = stand_in.stream_of(channel["arn"])
    assert stream is not None

    report = check_live(service.backend)
    again = check_live(service.backend)

    assert report.went_live == [channel["id"]] and again.went_live == [] and again.seen == [channel["id"]]
    seen = await state_of(gql, admin, channel["id"])
    assert (seen["state"], seen["currentSessionId"], seen["liveSince"]) == ("LIVE", stream["streamId"], stream["startTime"])
    assert seen["stats"]["totalBroadcasts"] == 1
    # IVS's Stream Start arriving late changes nothing.
    late = ivs_event("ivs_stream_start", channel["arn"], stream["streamId"], stream["startTime"])
    assert apply_ivs_event(service.backend, late) == "already applied: the stream has its session"
    [session] = (await gql(SESSIONS, {"id": channel["id"]}, token=admin))["data"]["channel"]["sessions"]["edges"]
    assert session["node"]["hostUserId"] == "host-1" and session["node"]["streamId"] == stream["streamId"]


async def test_a_lost_stream_end_goes_idle_with_reason_lost_after_two_checks(
    gql: GraphQLClient, admin: str, service: Service, stand_in: LocalIvsStreamsStandIn
) -> None:
    channel = await create(gql, admin)
    stand_in.connect_encoder(channel["streamKey"])
    check_live(service.backend)  # LIVE from the stream's start
    started = service.backend.channels.get_channel(channel["id"])
    assert started is not None and started.live_since is not None
    seen_at = started.live_since + timedelta(minutes=10)
    check_live(dataclasses.replace(service.backend, clock=lambda: seen_at))  # seen streaming at +10 min
    stand_in.disconnect_encoder(channel["arn"])  # the encoder stops; IVS's Stream End event is lost

    later = dataclasses.replace(service.backend, clock=lambda: seen_at + timedelta(minutes=5))
    first_miss = check_live(later)
    assert first_miss.missed_once == [channel["id"]]
    assert (await state_of(gql, admin, channel["id"]))["state"] == "LIVE"
    second_miss = check_live(later)

    assert second_miss.lost == [channel["id"]]
    after = await state_of(gql, admin, channel["id"])
    assert after["state"] == "IDLE" and after["stats"]["totalStreamingMinutes"] == pytest.approx(10.0)
    [session] = (await gql(SESSIONS, {"id": channel["id"]}, token=admin))["data"]["channel"]["sessions"]["edges"]
    assert session["node"]["endReason"] == "LOST" and session["node"]["durationMinutes"] == pytest.approx(10.0)


async def test_a_stream_seen_again_forgets_a_single_miss(
    gql: GraphQLClient, admin: str, service: Service, stand_in: LocalIvsStreamsStandIn
) -> None:
    channel = await create(gql, admin)
    await set_state(gql, admin, channel["id"], "LIVE")
    assert check_live(service.backend).missed_once == [channel["id"]]
    stand_in.connect_encoder(channel["streamKey"])

    assert check_live(service.backend).seen == [channel["id"]]
    stand_in.disconnect_encoder(channel["arn"])
    assert check_live(service.backend).missed_once == [channel["id"]]
    assert (await state_of(gql, admin, channel["id"]))["state"] == "LIVE"


@pytest.mark.race
async def test_stop_broadcast_racing_the_check_counts_the_broadcast_once(
    gql: GraphQLClient, admin: str, service: Service, stand_in: LocalIvsStreamsStandIn
) -> None:
    for n in range(3):
        channel = await create(gql, admin, name=f"Race {n}")
        await set_state(gql, admin, channel["id"], "LIVE")
        check_live(service.backend)  # missed once: the next check ends it as LOST
        # stopBroadcast finds nothing to stop when the other ended the broadcast first.
        race(lambda: stop_broadcast(service.backend, ADMIN, channel["id"]), lambda: check_live(service.backend),
             tolerated=(InvalidStateTransition,))

        after = service.backend.channels.get_channel(channel["id"])
        assert after is not None and after.state is ChannelState.IDLE and after.stats.total_broadcasts == 1
        edges = (await gql(SESSIONS, {"id": channel["id"]}, token=admin))["data"]["channel"]["sessions"]["edges"]
        assert len(edges) == 1 and edges[0]["node"]["endReason"] in ("STOPPED_BY_ADMIN", "LOST")
    assert service.backend.capacity.read_capacity_counts().by_state[ChannelState.LIVE] == 0
