"""The schedule at LIVE and in sessions (CONTRACT.md sections 11 and 12, docs/schedules.md): on a
scheduled SHARED channel hosts go LIVE only in their slots (admins are not held to it), and every
start path attributes the broadcast to the slot covering its start."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from app.bootstrap import Service
from embedded.emulator import EmbeddedAws
from embedded.ivs_stand_in import LocalIvsStreamsStandIn
from domain.access import Caller
from domain.clock import format_timestamp, utc_now
from domain.errors import Conflict
from domain.model import AssignmentModel, Channel, ChannelState, NewChannelRequest
from domain.slots import Slot
from services.backend import ChannelsBackend
from services.channels import assign_channel, create_channel, delete_channel, set_channel_state, unassign_channel
from services.ivs_events import apply_ivs_event
from services.live_check import check_live
from services.slots import SlotBooking, book_slot
from tests.api.slot_support import HOUR, SESSIONS, SET_LIVE, host_id, minute, tomorrow
from tests.api.test_live_streams import ivs_event
from tests.support import GraphQLClient, TokenFactory, error_codes

ADMIN = Caller("admin-1", is_admin=True)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def stand_in(aws: EmbeddedAws) -> LocalIvsStreamsStandIn:
    assert aws.ivs_stand_in is not None
    return aws.ivs_stand_in


def shared(backend: ChannelsBackend, *hosts: str) -> Channel:
    channel = create_channel(backend, ADMIN, NewChannelRequest(name="Shared", assignment_model=AssignmentModel.SHARED))
    for host in hosts:
        assign_channel(backend, ADMIN, channel.id, host)
    return channel


def book(backend: ChannelsBackend, channel: Channel, host: str, start: datetime, end: datetime) -> Slot:
    return book_slot(backend, ADMIN, SlotBooking(channel.id, host, start, end))


def sessions(backend: ChannelsBackend, channel_id: str) -> list[tuple[str | None, str | None]]:
    assert backend.sessions is not None
    return [(found.host_user_id, found.slot_id) for found, _ in backend.sessions.list_sessions(channel_id, 10, None).sessions]


# setChannelState LIVE over GraphQL


async def test_a_host_without_a_slot_on_a_scheduled_channel_cannot_go_live(
    gql: GraphQLClient, service: Service, tokens: TokenFactory
) -> None:
    booked_host, other = host_id(), host_id()
    channel = shared(service.backend, booked_host, other)
    book(service.backend, channel, booked_host, minute(), minute(HOUR))
    result = await gql(SET_LIVE, {"channelId": channel.id}, token=tokens.host(other))
    assert error_codes(result) == ["CONFLICT"]
    assert result["errors"][0]["message"] == (
        f"Channel '{channel.id}' is scheduled and host '{other}' has no slot now (a slot admits its host 10 minutes "
        "before its start and after its end); book one with bookSlot."
    )
    assert booked_host not in result["errors"][0]["message"]
    assert service.backend.channels.get_channel(channel.id).state is ChannelState.IDLE  # type: ignore[union-attr]


async def test_a_host_in_their_slot_goes_live_in_it(gql: GraphQLClient, service: Service, tokens: TokenFactory) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    slot = book(service.backend, channel, host, minute(), minute(HOUR))
    result = await gql(SET_LIVE, {"channelId": channel.id}, token=tokens.host(host))
    assert result["data"]["setChannelState"]["state"] == "LIVE"
    sessions_page = await gql(SESSIONS, {"id": channel.id}, token=tokens.host(host))
    assert sessions_page["data"]["channel"]["sessions"]["edges"] == [{"node": {"hostUserId": host, "slotId": slot.id}}]


async def test_a_host_goes_live_minutes_before_their_slot(service: Service) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    slot = book(service.backend, channel, host, minute(6 * MINUTE), minute(HOUR))
    set_channel_state(service.backend, Caller(host), channel.id, ChannelState.LIVE, None)
    assert sessions(service.backend, channel.id) == [(host, slot.id)]


async def test_an_admin_is_not_held_to_the_schedule(gql: GraphQLClient, service: Service, admin: str) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    book(service.backend, channel, host, minute(2 * HOUR), minute(3 * HOUR))
    result = await gql(SET_LIVE, {"channelId": channel.id, "hostUserId": other}, token=admin)
    assert result["data"]["setChannelState"]["state"] == "LIVE"
    assert sessions(service.backend, channel.id) == [(other, None)]


async def test_a_sessions_service_naming_a_host_without_a_slot_is_conflict(
    gql: GraphQLClient, service: Service, tokens: TokenFactory
) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    book(service.backend, channel, host, minute(), minute(HOUR))
    token = tokens.service_token("shelcaster-channels/sessions")
    assert error_codes(await gql(SET_LIVE, {"channelId": channel.id, "hostUserId": other}, token=token)) == ["CONFLICT"]


async def test_a_sessions_service_naming_the_slots_host_goes_live_in_it(
    gql: GraphQLClient, service: Service, tokens: TokenFactory
) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    slot = book(service.backend, channel, host, minute(), minute(HOUR))
    token = tokens.service_token("shelcaster-channels/sessions")
    result = await gql(SET_LIVE, {"channelId": channel.id, "hostUserId": host}, token=token)
    assert result["data"]["setChannelState"]["state"] == "LIVE"
    assert sessions(service.backend, channel.id) == [(host, slot.id)]


async def test_a_sessions_service_naming_nobody_starts_the_slots_broadcast(service: Service) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    slot = book(service.backend, channel, host, minute(), minute(HOUR))
    sessions_service = Caller.service("platform", ["shelcaster-channels/sessions"], "shelcaster-channels")
    set_channel_state(service.backend, sessions_service, channel.id, ChannelState.LIVE, "platform-session-1")
    assert sessions(service.backend, channel.id) == [(host, slot.id)]


async def test_a_shared_channel_without_slots_is_not_scheduled(service: Service) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    set_channel_state(service.backend, Caller(host), channel.id, ChannelState.LIVE, None)
    assert sessions(service.backend, channel.id) == [(host, None)]


async def test_a_repeated_live_of_the_same_session_is_still_a_no_op_after_the_slot(service: Service) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    book(service.backend, channel, host, minute(), minute(HOUR))
    set_channel_state(service.backend, Caller(host), channel.id, ChannelState.LIVE, "s-1")
    later = dataclasses.replace(service.backend, clock=lambda: minute(2 * HOUR))
    again = set_channel_state(later, Caller(host), channel.id, ChannelState.LIVE, "s-1")
    assert again.current_session_id == "s-1"


# What IVS reports: a Stream Start event, the live-state check


def start_stream(service: Service, stand_in: LocalIvsStreamsStandIn, channel: Channel) -> dict:
    assert channel.stream_key is not None
    stand_in.connect_encoder(channel.stream_key)
    stream = stand_in.stream_of(channel.arn)
    assert stream is not None
    return stream


def test_a_stream_start_in_a_slot_belongs_to_its_host(service: Service, stand_in: LocalIvsStreamsStandIn) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    slot = book(service.backend, channel, other, minute(), minute(HOUR))
    stream = start_stream(service, stand_in, channel)
    event = ivs_event("ivs_stream_start", channel.arn, stream["streamId"], stream["startTime"])
    assert apply_ivs_event(service.backend, event) == "went LIVE"
    assert sessions(service.backend, channel.id) == [(other, slot.id)]


def test_a_stream_start_outside_every_slot_is_kept_for_nobody(service: Service, stand_in: LocalIvsStreamsStandIn) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    book(service.backend, channel, other, minute(3 * HOUR), minute(4 * HOUR))
    stream = start_stream(service, stand_in, channel)
    event = ivs_event("ivs_stream_start", channel.arn, stream["streamId"], stream["startTime"])
    assert apply_ivs_event(service.backend, event) == "went LIVE"
    assert sessions(service.backend, channel.id) == [(None, None)]


def test_the_live_state_check_attributes_what_it_finds(service: Service, stand_in: LocalIvsStreamsStandIn) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    slot = book(service.backend, channel, host, minute(), minute(HOUR))
    start_stream(service, stand_in, channel)
    assert channel.id in check_live(service.backend).went_live
    assert sessions(service.backend, channel.id) == [(host, slot.id)]


def test_a_whole_broadcast_reported_late_belongs_to_the_slot_it_started_in(service: Service) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    slot = book(service.backend, channel, other, minute(), minute(HOUR))
    stream_id = "st-late1AbCdEfGhIjKlMnOp"  # IVS no longer streams it: both events are late
    started, ended = format_timestamp(minute()), format_timestamp(utc_now())
    apply_ivs_event(service.backend, ivs_event("ivs_stream_end", channel.arn, stream_id, ended))
    assert apply_ivs_event(service.backend, ivs_event("ivs_stream_start", channel.arn, stream_id, started)).startswith(
        "counted a finished broadcast")
    assert sessions(service.backend, channel.id) == [(other, slot.id)]


def ivs_opened_session(service: Service, stand_in: LocalIvsStreamsStandIn) -> tuple[Channel, str, str, Slot]:
    """A SHARED channel of two hosts, the first booked now, on which IVS reported a stream first."""
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    slot = book(service.backend, channel, host, minute(), minute(HOUR))
    stream = start_stream(service, stand_in, channel)
    apply_ivs_event(service.backend, ivs_event("ivs_stream_start", channel.arn, stream["streamId"], stream["startTime"]))
    return channel, host, other, slot


def test_a_host_naming_the_session_ivs_opened_gets_their_slot(
    service: Service, stand_in: LocalIvsStreamsStandIn
) -> None:
    channel, host, _, slot = ivs_opened_session(service, stand_in)
    set_channel_state(service.backend, Caller(host), channel.id, ChannelState.LIVE, "platform-session")
    assert sessions(service.backend, channel.id) == [(host, slot.id)]


def test_a_host_without_a_slot_cannot_name_the_session_ivs_opened(
    service: Service, stand_in: LocalIvsStreamsStandIn
) -> None:
    channel, _, other, _ = ivs_opened_session(service, stand_in)
    with pytest.raises(Conflict):
        set_channel_state(service.backend, Caller(other), channel.id, ChannelState.LIVE, "platform-session")


# Unassigning and deleting


def test_deleting_a_channel_cancels_its_ended_slots_too(service: Service) -> None:
    host = host_id()
    channel = shared(service.backend, host)
    slot = book(service.backend, channel, host, minute(), minute(HOUR))
    later = dataclasses.replace(service.backend, clock=lambda: minute(2 * HOUR))
    unassign_channel(later, ADMIN, channel.id, host)
    assert later.slots.get(slot.id).cancelled_at is None  # type: ignore[union-attr]  (ended: kept)
    set_channel_state(later, ADMIN, channel.id, ChannelState.OFFLINE, None)
    delete_channel(later, ADMIN, channel.id)
    assert later.slots.get(slot.id).cancelled_at == minute(2 * HOUR)  # type: ignore[union-attr]


def test_unassigning_a_host_with_more_slots_than_a_transaction_holds_cancels_them_all(service: Service) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    for n in range(60):
        start = tomorrow(n)
        book(service.backend, channel, host, start, start + timedelta(minutes=30))
    kept = book(service.backend, channel, other, tomorrow(70), tomorrow(71))

    unassign_channel(service.backend, ADMIN, channel.id, host)

    assert service.backend.slots.all_ending_after(channel.id, minute()) == [kept]
    assert service.backend.assignments.get_assignment(host) is None
