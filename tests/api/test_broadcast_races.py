"""Broadcast truth under concurrency (docs/broadcasts.md): the same IVS event delivered many times at
once, and a stop racing IVS's end and the live-state check, still count one broadcast once. DynamoDB's
conditions and transactions decide, not a read in the service."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from app.bootstrap import Service
from embedded.emulator import EmbeddedAws
from embedded.ivs_stand_in import LocalIvsStreamsStandIn
from domain.access import Caller
from domain.errors import Conflict, InvalidStateTransition
from domain.model import ChannelState, NewChannelRequest
from services.channels import create_channel, set_channel_state
from services.ivs_events import apply_ivs_event
from services.live_check import check_live
from services.stream_control import stop_broadcast
from tests.api.test_live_streams import ivs_event
from tests.concurrency import race

pytestmark = pytest.mark.race
ADMIN = Caller("admin-1", is_admin=True)


@pytest.fixture
def stand_in(aws: EmbeddedAws) -> LocalIvsStreamsStandIn:
    assert aws.ivs_stand_in is not None
    return aws.ivs_stand_in


def streaming(service: Service, stand_in: LocalIvsStreamsStandIn) -> tuple[Any, str, dict[str, Any]]:
    channel = create_channel(service.backend, ADMIN, NewChannelRequest(name="Raced"))
    assert channel.stream_key is not None
    stand_in.connect_encoder(channel.stream_key)
    stream = stand_in.stream_of(channel.arn)
    assert stream is not None
    start = ivs_event("ivs_stream_start", channel.arn, stream["streamId"], stream["startTime"])
    return channel, str(stream["streamId"]), start


def sessions_of(service: Service, channel_id: str) -> list[Any]:
    assert service.backend.sessions is not None
    return [found for found, _ in service.backend.sessions.list_sessions(channel_id, 50, None).sessions]


def test_the_same_stream_start_delivered_eight_times_at_once_opens_one_session(
    service: Service, stand_in: LocalIvsStreamsStandIn
) -> None:
    channel, stream_id, start = streaming(service, stand_in)
    outcomes: list[str] = []

    race(*[lambda: outcomes.append(apply_ivs_event(service.backend, start)) for _ in range(8)])

    assert outcomes.count("went LIVE") == 1
    after = service.backend.channels.get_channel(channel.id)
    assert after is not None and (after.state, after.stats.total_broadcasts) == (ChannelState.LIVE, 1)
    assert [found.stream_id for found in sessions_of(service, channel.id)] == [stream_id]


def test_the_stream_start_racing_the_check_and_a_caller_opens_one_session(
    service: Service, stand_in: LocalIvsStreamsStandIn
) -> None:
    channel, stream_id, start = streaming(service, stand_in)

    race(lambda: apply_ivs_event(service.backend, start), lambda: check_live(service.backend),
         lambda: set_channel_state(service.backend, ADMIN, channel.id, ChannelState.LIVE, "platform-1"),
         tolerated=(Conflict,))

    [session] = sessions_of(service, channel.id)
    assert session.stream_id == stream_id and session.ended_at is None
    after = service.backend.channels.get_channel(channel.id)
    assert after is not None and after.stats.total_broadcasts == 1


@pytest.mark.parametrize("keep_stream_key", [False, True])
def test_stop_broadcast_racing_stream_end_and_the_check_counts_the_broadcast_once(
    service: Service, stand_in: LocalIvsStreamsStandIn, keep_stream_key: bool
) -> None:
    channel, stream_id, start = streaming(service, stand_in)
    apply_ivs_event(service.backend, start)
    stand_in.disconnect_encoder(channel.arn)
    end = ivs_event("ivs_stream_end", channel.arn, stream_id, start["time"])
    later = dataclasses.replace(service.backend, clock=lambda: service.backend.clock() + timedelta(minutes=5))
    check_live(later)  # missed once: the next check may end it as LOST

    race(lambda: stop_broadcast(service.backend, ADMIN, channel.id, keep_stream_key),
         lambda: apply_ivs_event(service.backend, end), lambda: check_live(later),
         tolerated=(InvalidStateTransition, Conflict))

    after = service.backend.channels.get_channel(channel.id)
    assert after is not None and (after.state, after.stats.total_broadcasts) == (ChannelState.IDLE, 1)
    [session] = sessions_of(service, channel.id)
    assert session.end_reason is not None and session.ended_at is not None
    assert after.stats.total_streaming_minutes == session.duration_minutes
