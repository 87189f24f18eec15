"""Schedules under concurrency (CONTRACT.md section 12, docs/schedules.md): real threads against moto.
DynamoDB's conditions decide (the schedule version, the host's assignment), never a read in the service."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.bootstrap import Service
from domain.access import Caller
from domain.errors import BadUserInput, Conflict, InvalidStateTransition
from domain.model import AssignmentModel, Channel, NewChannelRequest
from domain.slots import Slot
from services.backend import ChannelsBackend
from services.channels import assign_channel, create_channel, unassign_channel
from services.slots import SlotBooking, book_slot, cancel_slot, move_slot
from tests.api.slot_support import host_id, tomorrow
from tests.concurrency import race

pytestmark = pytest.mark.race
ADMIN = Caller("admin-1", is_admin=True)
MINUTE = timedelta(minutes=1)


def shared(backend: ChannelsBackend, *hosts: str) -> Channel:
    channel = create_channel(backend, ADMIN, NewChannelRequest(name="Raced", assignment_model=AssignmentModel.SHARED))
    for host in hosts:
        assign_channel(backend, ADMIN, channel.id, host)
    return channel


def live_slots(backend: ChannelsBackend, channel_id: str) -> list[Slot]:
    return backend.slots.all_ending_after(channel_id, tomorrow(-48))


def assert_no_overlap(slots: list[Slot]) -> None:
    ordered = sorted(slots, key=lambda slot: slot.starts_at)
    assert all(a.ends_at <= b.starts_at for a, b in zip(ordered, ordered[1:]))


def test_twenty_overlapping_bookings_at_once_book_exactly_one(service: Service) -> None:
    hosts = [host_id() for _ in range(20)]
    channel = shared(service.backend, *hosts)
    booked: list[Slot] = []
    refused: list[str] = []

    def booking(n: int) -> None:
        start = tomorrow(10) + n * MINUTE  # each overlaps every other
        try:
            booked.append(book_slot(service.backend, Caller(hosts[n]),
                                    SlotBooking(channel.id, None, start, start + timedelta(hours=1))))
        except Conflict as conflict:
            refused.append(conflict.message)

    race(*[lambda n=n: booking(n) for n in range(20)])

    assert (len(booked), len(refused)) == (1, 19)
    assert live_slots(service.backend, channel.id) == booked
    assert all("is already booked from" in message for message in refused), refused


def test_moves_into_the_same_window_at_once_move_exactly_one(service: Service) -> None:
    hosts = [host_id() for _ in range(6)]
    channel = shared(service.backend, *hosts)
    slots = [book_slot(service.backend, ADMIN, SlotBooking(channel.id, host, tomorrow(n), tomorrow(n) + 30 * MINUTE))
             for n, host in enumerate(hosts)]
    moved: list[Slot] = []
    outcomes: list[str] = []

    def moving(slot: Slot) -> None:
        try:
            moved.append(move_slot(service.backend, Caller(slot.host_user_id), slot.id, tomorrow(20), tomorrow(21)))
        except Conflict:
            outcomes.append("conflict")

    race(*[lambda slot=slot: moving(slot) for slot in slots])

    assert (len(moved), len(outcomes)) == (1, 5)
    assert_no_overlap(live_slots(service.backend, channel.id))
    assert len(live_slots(service.backend, channel.id)) == 6


@pytest.mark.parametrize("round_", range(4))
def test_a_booking_racing_its_hosts_unassignment_leaves_no_slot_for_an_unassigned_host(
    service: Service, round_: int
) -> None:
    host, other = host_id(), host_id()
    channel = shared(service.backend, host, other)
    outcomes: list[str] = []

    def booking() -> None:
        try:
            book_slot(service.backend, Caller(host), SlotBooking(channel.id, None, tomorrow(10), tomorrow(11)))
            outcomes.append("booked")
        except BadUserInput:
            outcomes.append("not assigned")

    race(booking, lambda: unassign_channel(service.backend, ADMIN, channel.id, host))

    assert outcomes in (["booked"], ["not assigned"])
    assert service.backend.assignments.get_assignment(host) is None
    assert [slot for slot in live_slots(service.backend, channel.id) if slot.host_user_id == host] == []


@pytest.mark.parametrize("round_", range(4))
def test_a_booking_racing_a_cancel_of_the_same_time_never_leaves_two_slots(service: Service, round_: int) -> None:
    first, second = host_id(), host_id()
    channel = shared(service.backend, first, second)
    taken = book_slot(service.backend, Caller(first), SlotBooking(channel.id, None, tomorrow(10), tomorrow(11)))
    outcomes: list[str] = []

    def booking() -> None:
        try:
            book_slot(service.backend, Caller(second), SlotBooking(channel.id, None, tomorrow(10), tomorrow(11)))
            outcomes.append("booked")
        except Conflict:
            outcomes.append("conflict")

    race(booking, lambda: cancel_slot(service.backend, Caller(first), taken.id))

    remaining = live_slots(service.backend, channel.id)
    assert service.backend.slots.get(taken.id).cancelled_at is not None  # type: ignore[union-attr]
    assert [slot.host_user_id for slot in remaining] == (["booked"] == outcomes) * [second]


def test_a_move_racing_a_cancel_of_the_same_slot_leaves_it_cancelled(service: Service) -> None:
    host = host_id()
    channel = shared(service.backend, host)
    slot = book_slot(service.backend, Caller(host), SlotBooking(channel.id, None, tomorrow(10), tomorrow(11)))

    race(lambda: move_slot(service.backend, Caller(host), slot.id, tomorrow(12), tomorrow(13)),
         lambda: cancel_slot(service.backend, Caller(host), slot.id),
         tolerated=(InvalidStateTransition,))

    assert service.backend.slots.get(slot.id).cancelled_at is not None  # type: ignore[union-attr]
    assert live_slots(service.backend, channel.id) == []


def test_concurrent_bookings_of_separate_times_all_succeed(service: Service) -> None:
    hosts = [host_id() for _ in range(8)]
    channel = shared(service.backend, *hosts)
    starts: list[datetime] = [tomorrow(n) for n in range(8)]

    race(*[lambda n=n: book_slot(service.backend, Caller(hosts[n]),
                                 SlotBooking(channel.id, None, starts[n], starts[n] + timedelta(hours=1)))
           for n in range(8)])

    assert [slot.starts_at for slot in live_slots(service.backend, channel.id)] == starts

