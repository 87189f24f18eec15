"""Schedules on shared channels (CONTRACT.md section 12, docs/schedules.md): the rules of a slot as
plain values and functions, decided before any I/O.

- a slot is one host's booking of a SHARED channel, in whole UTC minutes, 5 minutes to 12 hours long,
  starting between now and 180 days ahead, with an optional title (1 to 128 characters after trimming);
- no two live (not cancelled) slots of one channel overlap; back-to-back slots do not overlap;
- a cancelled or ended slot never changes again;
- on a scheduled SHARED channel a host goes LIVE only within their slot, widened by the grace on both
  sides; a broadcast's start is attributed to the slot covering it (docs/schedules.md).

Storage (data.slots) writes each plan conditionally, so that these rules hold under concurrency too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple
from datetime import datetime, timedelta

from domain.clock import format_timestamp
from domain.errors import BadUserInput, Conflict, InvalidStateTransition
from domain.validation import has_control_characters

SLOT_MIN_LENGTH = timedelta(minutes=5)
SLOT_MAX_LENGTH = timedelta(hours=12)
BOOKING_HORIZON = timedelta(days=180)
TITLE_MAX_LENGTH = 128


@dataclass(frozen=True)
class SlotTimes:
    """When a slot runs: from `starts_at` up to (not including) `ends_at`."""

    starts_at: datetime
    ends_at: datetime

    def overlaps(self, other: SlotTimes) -> bool:
        """Whether the two share a moment; back-to-back (one ends when the other starts) do not."""
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at

    def covers(self, at: datetime, grace: timedelta = timedelta(0)) -> bool:
        """Whether `at` falls within the slot widened by `grace` on both sides."""
        return self.starts_at - grace <= at < self.ends_at + grace

    def describe(self) -> str:
        return f"from {format_timestamp(self.starts_at)} to {format_timestamp(self.ends_at)}"


@dataclass(frozen=True)
class Slot:
    id: str
    channel_id: str
    host_user_id: str
    title: str | None
    times: SlotTimes
    created_by: str
    created_at: datetime
    cancelled_at: datetime | None = None

    @property
    def starts_at(self) -> datetime:
        return self.times.starts_at

    @property
    def ends_at(self) -> datetime:
        return self.times.ends_at

    @property
    def is_live(self) -> bool:
        """Not cancelled: it blocks its time."""
        return self.cancelled_at is None

    def has_ended(self, now: datetime) -> bool:
        return self.ends_at <= now


def current_minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def _whole_minute(argument: str, moment: datetime) -> None:
    if moment.second or moment.microsecond:
        raise BadUserInput(f"'{argument}' must be a whole minute (no seconds), got {format_timestamp(moment)}.")


def validate_times(
    starts_at: datetime, ends_at: datetime, now: datetime, *, current: SlotTimes | None = None,
    argument_prefix: str = "",
) -> SlotTimes:
    """The times of a booking (or of a move of `current`): whole minutes, 5 minutes to 12 hours long,
    starting no earlier than the current minute and no later than 180 days ahead.

    A move may keep the start of a slot already under way (extending or shortening it); its end must
    then still be ahead."""
    _whole_minute(f"{argument_prefix}startsAt", starts_at)
    _whole_minute(f"{argument_prefix}endsAt", ends_at)
    if ends_at <= starts_at:
        raise BadUserInput("'endsAt' must be after 'startsAt'.")
    length = ends_at - starts_at
    if length < SLOT_MIN_LENGTH:
        raise BadUserInput("slots must be at least 5 minutes.")
    if length > SLOT_MAX_LENGTH:
        raise BadUserInput("slots must be at most 12 hours.")
    keeps_start = current is not None and current.starts_at == starts_at
    if not keeps_start and starts_at < current_minute(now):
        raise BadUserInput(f"slots must not start in the past (now is {format_timestamp(now)}).")
    if ends_at <= now:
        raise BadUserInput(f"slots must end in the future (now is {format_timestamp(now)}).")
    if starts_at > now + BOOKING_HORIZON:
        raise BadUserInput("slots may start at most 180 days ahead.")
    return SlotTimes(starts_at, ends_at)


def validate_title(title: str | None) -> str | None:
    """The title trimmed: 1 to 128 characters, or none."""
    if title is None:
        return None
    trimmed = title.strip()
    if not 1 <= len(trimmed) <= TITLE_MAX_LENGTH:
        raise BadUserInput(
            f"'input.title' must be 1 to {TITLE_MAX_LENGTH} characters after trimming, got {len(trimmed)}."
        )
    if has_control_characters(trimmed):
        raise BadUserInput("'input.title' must not contain control characters.")
    return trimmed


def validate_window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime | None]:
    """The [from, to) of a listing: from defaults to now, to to no end; to must be after from."""
    start = now if start is None else start
    if end is not None and end <= start:
        raise BadUserInput("'to' must be after 'from'.")
    return start, end


def require_free(channel_id: str, times: SlotTimes, others: Iterable[Slot], moving: str | None = None) -> None:
    """CONFLICT when a live slot of the channel (other than the one `moving`) overlaps `times`. The
    message names the time taken, never who took it."""
    for other in others:
        if other.id != moving and other.is_live and other.times.overlaps(times):
            raise Conflict(
                f"Channel '{channel_id}' is already booked {other.times.describe()}; "
                "choose a time that does not overlap it."
            )


def require_changeable(slot: Slot, now: datetime) -> None:
    """A cancelled or ended slot never changes again (INVALID_STATE_TRANSITION)."""
    if slot.cancelled_at is not None:
        raise InvalidStateTransition(f"Slot '{slot.id}' was cancelled; it cannot change.")
    if slot.has_ended(now):
        raise InvalidStateTransition(f"Slot '{slot.id}' has ended; it cannot change.")


def covering_slot(slots: Iterable[Slot], at: datetime, grace: timedelta, host_user_id: str | None = None) -> Slot | None:
    """The live slot (of `host_user_id`, when given) whose time, widened by `grace`, covers `at`.

    The slot covering `at` itself wins; else the one whose edge is nearest (a start a few minutes early
    belongs to the coming slot, a few minutes late to the one that just ended); on a tie the coming one.
    """
    candidates = [
        slot for slot in slots
        if slot.is_live and slot.times.covers(at, grace) and (host_user_id is None or slot.host_user_id == host_user_id)
    ]
    for slot in candidates:
        if slot.times.covers(at):
            return slot

    def distance(slot: Slot) -> tuple[timedelta, int]:
        early = slot.starts_at - at
        return (early, 0) if early > timedelta(0) else (at - slot.ends_at, 1)

    return min(candidates, key=distance, default=None)


class Attribution(NamedTuple):
    """Whom a broadcast's start belongs to: its slot (None outside every slot) and its host."""

    slot_id: str | None
    host_user_id: str | None


def attribute_start(slots: Iterable[Slot], at: datetime, grace: timedelta, host_user_id: str | None) -> Attribution:
    """The slot a broadcast starting at `at` belongs to (docs/schedules.md).

    A known host (the caller, the host a caller names, the channel's only host) keeps the broadcast,
    and it belongs to that host's slot covering `at` (widened by the grace), if any. With no known
    host (IVS reported a start on a channel with several hosts) the slot covering it decides the host
    too; a start outside every slot belongs to nobody (IVS is the authority: it is kept all the same).
    """
    slot = covering_slot(slots, at, grace, host_user_id)
    if host_user_id is not None:
        return Attribution(slot.id if slot else None, host_user_id)
    return Attribution(slot.id, slot.host_user_id) if slot else Attribution(None, None)


def is_scheduled(slots: Iterable[Slot], now: datetime, grace: timedelta) -> bool:
    """A SHARED channel is scheduled while it has a live slot that has not ended (counting the grace
    after its end): then only a host with a slot may go LIVE."""
    return any(slot.is_live and slot.ends_at + grace > now for slot in slots)


def require_slot_to_go_live(
    channel_id: str, slots: Iterable[Slot], host_user_id: str | None, now: datetime, grace: timedelta
) -> None:
    """CONFLICT when `host_user_id` would go LIVE on a scheduled channel outside their slots (widened
    by the grace). `slots` must hold every live slot ending after `now - grace` that starts by
    `now + grace` (SlotStore.around). Nobody to hold to it (no host known): nothing is checked."""
    slots = list(slots)
    if host_user_id is None or not is_scheduled(slots, now, grace):
        return
    if covering_slot(slots, now, grace, host_user_id) is None:
        minutes = int(grace.total_seconds() // 60)
        raise Conflict(
            f"Channel '{channel_id}' is scheduled and host '{host_user_id}' has no slot now "
            f"(a slot admits its host {minutes} minutes before its start and after its end); book one with bookSlot."
        )


def candidates_around(grace: timedelta) -> int:
    """How many slots ending after `now - grace` (earliest first) include every one that may cover
    now widened by the grace, and one more: slots never overlap and last at least 5 minutes."""
    return int((2 * grace) // SLOT_MIN_LENGTH) + 3
