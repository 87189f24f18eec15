"""Schedules on shared channels (CONTRACT.md section 12, docs/schedules.md): book, move and cancel a
slot, and read a channel's schedule and a host's slots.

Each change is planned by domain.slots from what was read, then written by data.slots as one
conditional transaction: a booking or move that finds the channel's schedule changed since it read
it plans again from the new schedule, so two overlapping bookings never both succeed, whatever the
concurrency. Those are blocking (boto3): resolvers run them in the thread pool. The queries' reads
(the `async` functions) are awaited on the event loop (data.slot_reads).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.access import (
    Caller,
    held_to_schedule,
    may_change_slot,
    needs_own_assignment,
    require_grant,
    require_may_book,
    require_may_change_slot,
)
from domain.errors import BadUserInput, Conflict, NotFound
from domain.model import Assignment, AssignmentModel, Channel
from domain.slots import (
    Attribution,
    Slot,
    attribute_start,
    require_changeable,
    require_free,
    require_slot_to_go_live,
    validate_times,
    validate_title,
    validate_window,
)
from domain.validation import validate_identifier, validate_page_size
from data.slots import (
    CANCEL_ITEMS,
    HostNotAssigned,
    ScheduleChanged,
    SlotChanged,
    SlotPage,
)
from data.unit_of_work import TRANSACTION_ITEMS_MAX, UnitOfWork
from services.backend import ChannelsBackend
from services.transitions import wait_briefly

# Bookings of one channel are serialised by its schedule version: a booking that lost a race plans
# again, and at human booking rates a handful of attempts is plenty.
ATTEMPTS = 12
# The slots read around a new time: the first live one ending after its start decides (live slots
# never overlap); a move reads one more, since the first may be the slot itself.
NEIGHBOURS = 2
# An unassignment's own items: the assignment's delete and the channel's host set.
UNASSIGN_ITEMS = 2
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SlotBooking:
    """What bookSlot asks for."""

    channel_id: str
    host_user_id: str | None
    starts_at: datetime
    ends_at: datetime
    title: str | None = None


def _own_assignment(backend: ChannelsBackend, caller: Caller, operation: str) -> Assignment | None:
    return backend.assignments.get_assignment(caller.user_id) if needs_own_assignment(caller, operation) else None


def _not_assigned(host_user_id: str, channel_id: str) -> BadUserInput:
    return BadUserInput(f"Host '{host_user_id}' is not assigned to channel '{channel_id}'.")


def book_slot(backend: ChannelsBackend, caller: Caller, booking: SlotBooking) -> Slot:
    """Book a slot for a host assigned to a SHARED channel; CONFLICT when it overlaps a live slot."""
    validate_identifier("input.channelId", booking.channel_id)
    if booking.host_user_id is not None:
        validate_identifier("input.hostUserId", booking.host_user_id)
    now = backend.clock()
    times = validate_times(booking.starts_at, booking.ends_at, now, argument_prefix="input.")
    title = validate_title(booking.title)
    host = require_may_book(caller, _own_assignment(backend, caller, "bookSlot"), booking.channel_id,
                            booking.host_user_id)
    channel = backend.channels.get_channel(booking.channel_id)
    if channel is None:
        raise NotFound(f"Channel '{booking.channel_id}' does not exist.")
    if channel.assignment_model is not AssignmentModel.SHARED:
        raise BadUserInput(f"Channel '{channel.id}' is HOST_OWNED; only SHARED channels have schedules.")
    if host not in channel.assigned_host_ids:
        raise _not_assigned(host, channel.id)
    slot = Slot(str(uuid.uuid4()), channel.id, host, title, times, caller.user_id, now)
    slots = backend.slots
    for attempt in range(ATTEMPTS):
        version = slots.schedule_version(channel.id)
        require_free(channel.id, times, slots.ending_after(channel.id, times.starts_at, NEIGHBOURS))
        try:
            slots.book(slot, version)
        except ScheduleChanged:
            wait_briefly(attempt % 4)
            continue
        except HostNotAssigned:
            raise _not_assigned(host, channel.id) from None
        return slot
    raise Conflict(f"The schedule of channel '{channel.id}' kept changing while booking; retry.")


def _slot_for(backend: ChannelsBackend, caller: Caller, operation: str, slot_id: str) -> tuple[Slot | None, bool]:
    """The slot as read (None when there is none), and whether the caller may change it."""
    validate_identifier("id", slot_id)
    slot = backend.slots.get(slot_id)
    return slot, may_change_slot(caller, operation, _own_assignment(backend, caller, operation),
                                 slot.host_user_id if slot else None, slot.channel_id if slot else None)


def _found(slot: Slot | None, slot_id: str, now: datetime) -> Slot:
    if slot is None:
        raise NotFound(f"Slot '{slot_id}' does not exist.")
    require_changeable(slot, now)
    return slot


def move_slot(backend: ChannelsBackend, caller: Caller, slot_id: str, starts_at: datetime,
              ends_at: datetime) -> Slot:
    """New times for a slot that has not ended, under the rules of a booking."""
    now = backend.clock()
    slots = backend.slots
    read, may = _slot_for(backend, caller, "moveSlot", slot_id)
    # BAD_USER_INPUT before FORBIDDEN; a slot's own start is known only to whom may change it.
    times = validate_times(starts_at, ends_at, now, current=read.times if read and may else None)
    require_may_change_slot(caller, "moveSlot", may, slot_id)
    slot = _found(read, slot_id, now)
    for attempt in range(ATTEMPTS):
        version = slots.schedule_version(slot.channel_id)
        require_free(slot.channel_id, times, slots.ending_after(slot.channel_id, times.starts_at, NEIGHBOURS),
                     moving=slot.id)
        try:
            return slots.move(slot, times, version)
        except ScheduleChanged:
            wait_briefly(attempt % 4)
        except SlotChanged:
            slot = _found(slots.get(slot_id), slot_id, now)  # moved meanwhile: plan from where it is now
        except HostNotAssigned:
            raise _not_assigned(slot.host_user_id, slot.channel_id) from None
    raise Conflict(f"The schedule of channel '{slot.channel_id}' kept changing while moving; retry.")


def cancel_slot(backend: ChannelsBackend, caller: Caller, slot_id: str) -> Slot:
    """Cancel a slot that has not ended: it keeps its record (with `cancelledAt`) and blocks no time."""
    now = backend.clock()
    read, may = _slot_for(backend, caller, "cancelSlot", slot_id)
    require_may_change_slot(caller, "cancelSlot", may, slot_id)
    slot = _found(read, slot_id, now)
    for _ in range(ATTEMPTS):
        try:
            return backend.slots.cancel(slot, now)
        except SlotChanged:
            slot = _found(backend.slots.get(slot_id), slot_id, now)  # moved (or cancelled) meanwhile
    raise Conflict(f"Slot '{slot_id}' kept changing while cancelling; retry.")


async def channel_slots(backend: ChannelsBackend, channel_id: str, start: datetime | None, end: datetime | None,
                  first: int, after: str | None) -> SlotPage:
    """A page of the channel's live slots overlapping [start, end), earliest first (one Query)."""
    validate_page_size(first)
    start, end = validate_window(start, end, backend.clock())
    return await backend.slot_reads.channel_page(channel_id, start, end, first, after)


async def current_slot(backend: ChannelsBackend, channel_id: str) -> Slot | None:
    """The live slot covering now, or None (one Query of one item)."""
    now = backend.clock()
    found = await backend.slot_reads.ending_after(channel_id, now, 1)
    return found[0] if found and found[0].starts_at <= now else None


async def my_slots(backend: ChannelsBackend, caller: Caller, start: datetime | None, end: datetime | None,
             first: int, after: str | None) -> SlotPage:
    """The caller's live slots on every channel, earliest first (one Query of the host index)."""
    validate_page_size(first)
    require_grant(caller, "mySlots")
    start, end = validate_window(start, end, backend.clock())
    return await backend.slot_reads.host_page(caller.user_id, start, end, first, after)


def add_slots_cancelled_to(unit: UnitOfWork, backend: ChannelsBackend, channel: Channel | None,
                           host_user_id: str) -> None:
    """What an unassignment writes in its own transaction (`unit`): the host's slots on the channel that have
    not ended, cancelled, conditional on the channel's schedule as read (a booking racing the
    unassignment either commits first, and is cancelled on the retry, or finds no assignment).

    A transaction holds at most 100 items: slots beyond what fits beside the assignment's two are
    cancelled first, in transactions of their own (docs/schedules.md); if the unassignment then fails
    (the channel went LIVE), those stay cancelled."""
    if channel is None or channel.assignment_model is not AssignmentModel.SHARED:
        return
    slots = backend.slots
    now = backend.clock()
    version = slots.schedule_version(channel.id)
    theirs = [slot for slot in slots.all_ending_after(channel.id, now) if slot.host_user_id == host_user_id]
    fits = (TRANSACTION_ITEMS_MAX - UNASSIGN_ITEMS - 1) // CANCEL_ITEMS
    if len(theirs) > fits:
        slots.cancel_all(theirs[fits:], now)
        theirs = theirs[:fits]
    slots.add_schedule_unchanged_to(unit, channel.id, version)
    for slot in theirs:
        slots.add_cancel_to(unit, slot, now)


def cancel_every_slot(backend: ChannelsBackend, channel_id: str) -> list[Slot]:
    """Deleting a channel cancels its slots, past ones included (they leave mySlots with it)."""
    slots = backend.slots
    return slots.cancel_all(slots.all_ending_after(channel_id, EPOCH), backend.clock())


def live_slot_check(backend: ChannelsBackend, caller: Caller, channel: Channel, named: str | None,
                    host: str | None, now: datetime) -> Attribution:
    """setChannelState LIVE on a SHARED channel: CONFLICT when the host the caller is held to has no
    slot covering now (widened by the grace) on a scheduled channel; else the slot and host the new
    session belongs to (one Query of the slots around now)."""
    if channel.assignment_model is not AssignmentModel.SHARED:
        return Attribution(None, host)
    grace = backend.slot_grace
    around = backend.slots.around(channel.id, now, grace)
    require_slot_to_go_live(channel.id, around, held_to_schedule(caller, named), now, grace)
    return attribute_start(around, now, grace, host)
