"""Slot records (CONTRACT.md section 12, docs/schedules.md): the schedule of a SHARED channel.

Each slot is two items, written together:

- its record, `pk = slot#{slotId}`, `sk = info` (entityType `channelSlot`): found by id (moveSlot,
  cancelSlot), and, while live, in the sparse `slots-by-host-index` (`slotHostUserId`, `endsAt`) that
  answers mySlots in one Query;
- its time entry in its channel's partition, `sk = slot#{endsAt}#{slotId}` (entityType
  `channelSlotTime`), present while the slot is live: a channel's schedule, earliest first, is one
  consistent Query of its partition. Live slots never overlap, so ordering by end orders by start too.

Invariants and the condition that guards each:

- no two live slots of a channel overlap: every booking and move is conditional on the channel's
  schedule version (`pk = channel#{channelId}`, `sk = schedule`) that it read before checking the
  time entries around it, and increments it, so two bookings of one channel never both commit on
  the same view of the schedule;
- a slot's host is assigned to its channel: a ConditionCheck on the host's assignment record;
- a cancelled slot never changes again, and a change applies to the slot as it was read: the record's
  update is conditional on its times and on having no `cancelledAt`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.clock import format_timestamp, parse_timestamp
from domain.errors import BadUserInput
from domain.slots import SLOT_MAX_LENGTH, Slot, SlotTimes, candidates_around
from data.dynamo import DynamoTable, condition_check, delete, put, to_dynamo, update
from data.pagination import decode_cursor, encode_cursor
from data.table import (
    CHANNEL_PK_PREFIX,
    SCHEDULE_ENTITY,
    SLOT_ENTITY,
    SLOT_HOST_ATTRIBUTE,
    SLOT_PK_PREFIX,
    SLOT_TIME_ENTITY,
    SLOT_TIME_SK_PREFIX,
    SLOTS_BY_HOST_INDEX,
    assignment_key,
    channel_key,
    schedule_key,
    slot_key,
)
from data.unit_of_work import TRANSACTION_ITEMS_MAX, TransactionRefused, UnitOfWork

# The items a cancel takes (record and time entry).
CANCEL_ITEMS = 2
# The parts of a slot's writes in a unit of work: the channel's schedule version, the slot's items,
# and the check of its host's assignment.
SCHEDULE_PART = "schedule"
SLOT_PART = "slot"
HOST_ASSIGNED_PART = "host-assigned"


class ScheduleChanged(Exception):
    """The channel's schedule changed between the read a booking was planned from and its write."""


class SlotChanged(Exception):
    """The slot was moved or cancelled between the read a change was planned from and its write."""


class HostNotAssigned(Exception):
    """The slot's host is not (or no longer) assigned to the slot's channel."""


def _time_sort_key(ends_at: datetime, slot_id: str) -> str:
    return f"{SLOT_TIME_SK_PREFIX}{format_timestamp(ends_at)}#{slot_id}"


def _after(at: datetime) -> str:
    """A sort key after every time entry ending at or before `at` (ids hold no `~`)."""
    return f"{SLOT_TIME_SK_PREFIX}{format_timestamp(at)}#~"


def time_entry_key(channel_id: str, ends_at: datetime, slot_id: str) -> dict[str, str]:
    return {"pk": f"{CHANNEL_PK_PREFIX}{channel_id}", "sk": _time_sort_key(ends_at, slot_id)}


def _attributes(slot: Slot) -> dict[str, Any]:
    item: dict[str, Any] = {
        "slotId": slot.id,
        "channelId": slot.channel_id,
        "hostUserId": slot.host_user_id,
        "startsAt": format_timestamp(slot.starts_at),
        "endsAt": format_timestamp(slot.ends_at),
        "createdBy": slot.created_by,
        "createdAt": format_timestamp(slot.created_at),
    }
    if slot.title is not None:
        item["title"] = slot.title
    return item


def slot_from_item(item: dict[str, Any]) -> Slot:
    starts, ends, created = (parse_timestamp(item.get(name)) for name in ("startsAt", "endsAt", "createdAt"))
    assert starts is not None and ends is not None and created is not None
    return Slot(
        id=str(item["slotId"]),
        channel_id=str(item["channelId"]),
        host_user_id=str(item["hostUserId"]),
        title=item.get("title"),
        times=SlotTimes(starts, ends),
        created_by=str(item["createdBy"]),
        created_at=created,
        cancelled_at=parse_timestamp(item.get("cancelledAt")),
    )


@dataclass(frozen=True)
class SlotPage:
    slots: list[tuple[Slot, str]]  # each with its cursor
    has_next_page: bool


# The reads' requests and answers, shared by SlotStore (boto3, for mutations and tools) and
# data.slot_reads (the queries' reads on the event loop): one request body, one decoding.

@dataclass(frozen=True)
class SlotPageQuery:
    """The Query (without its table) of a page of slots, and how the page is made of its items."""

    query: dict[str, Any]
    first: int
    cursor: Callable[[dict[str, Any]], str]

    def page(self, items: list[dict[str, Any]]) -> SlotPage:
        return SlotPage([(slot_from_item(item), self.cursor(item)) for item in items[:self.first]],
                        len(items) > self.first)


def ending_after_query(channel_id: str, at: datetime, limit: int) -> dict[str, Any]:
    """The Query of the channel's first `limit` live slots ending after `at`, earliest first (consistent)."""
    return {**_channel_query(channel_id, _after(at), None), "Limit": limit}


def slots_of(items: list[dict[str, Any]]) -> list[Slot]:
    """The slots of a schedule Query's items (records or time entries: both carry a slot's attributes)."""
    return [slot_from_item(item) for item in items]


def channel_page_query(channel_id: str, start: datetime, end: datetime | None, first: int,
                       after: str | None) -> SlotPageQuery:
    """The channel's live slots overlapping [start, end), earliest first: one Query of `first + 1`
    time entries. Entries are ordered by end, and live slots never overlap, so the first one
    starting at or after `end` (the filter) is the last one read: a page reads what it returns."""
    # A slot starting before `end` ends within 12 hours of it: the key range stops there.
    upper = _after(end + SLOT_MAX_LENGTH) if end is not None else None
    query = _channel_query(channel_id, _after(start), upper)
    if after is not None:
        query["ExclusiveStartKey"] = to_dynamo(_channel_position(channel_id, after))
    return SlotPageQuery(_windowed(query, end, first), first,
                         lambda item: encode_cursor({"pk": item["pk"], "sk": item["sk"]}))


def host_page_query(host_user_id: str, start: datetime, end: datetime | None, first: int,
                    after: str | None) -> SlotPageQuery:
    """The host's live slots overlapping [start, end), earliest first: one Query of the host index
    (a host's live slots never overlap either: they are all on the channel they hold)."""
    query: dict[str, Any] = {
        "IndexName": SLOTS_BY_HOST_INDEX,
        "KeyConditionExpression": "#host = :host AND endsAt > :start",
        "ExpressionAttributeNames": {"#host": SLOT_HOST_ATTRIBUTE},
        "ExpressionAttributeValues": {":host": {"S": host_user_id}, ":start": {"S": format_timestamp(start)}},
    }
    if after is not None:
        query["ExclusiveStartKey"] = to_dynamo(_host_position(host_user_id, after))

    def cursor(item: dict[str, Any]) -> str:
        return encode_cursor({"pk": item["pk"], "sk": item["sk"], SLOT_HOST_ATTRIBUTE: host_user_id,
                              "endsAt": item["endsAt"]})

    return SlotPageQuery(_windowed(query, end, first), first, cursor)


def _windowed(query: dict[str, Any], end: datetime | None, first: int) -> dict[str, Any]:
    """`query` reading `first + 1` items, those starting before `end` only."""
    if end is not None:
        query["FilterExpression"] = "startsAt < :end"
        query["ExpressionAttributeValues"][":end"] = {"S": format_timestamp(end)}
    return {**query, "Limit": first + 1}


def _channel_query(channel_id: str, lower: str, upper: str | None) -> dict[str, Any]:
    return {
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lower AND :upper",
        "ExpressionAttributeValues": {
            ":pk": {"S": channel_key(channel_id)["pk"]},
            ":lower": {"S": lower},
            ":upper": {"S": upper or f"{SLOT_TIME_SK_PREFIX}~"},
        },
        "ConsistentRead": True,
    }


def _channel_position(channel_id: str, cursor: str) -> dict[str, str]:
    position = decode_cursor(cursor, {"pk", "sk"})
    if (position is None or position["pk"] != channel_key(channel_id)["pk"]
            or not position["sk"].startswith(SLOT_TIME_SK_PREFIX)):
        raise BadUserInput("'after' is not a cursor this service returned for these slots.")
    return position


def _host_position(host_user_id: str, cursor: str) -> dict[str, str]:
    position = decode_cursor(cursor, {"pk", "sk", SLOT_HOST_ATTRIBUTE, "endsAt"})
    if (position is None or position[SLOT_HOST_ATTRIBUTE] != host_user_id
            or not position["pk"].startswith(SLOT_PK_PREFIX) or parse_timestamp(position["endsAt"]) is None):
        raise BadUserInput("'after' is not a cursor this service returned for these slots.")
    return position


class SlotStore:
    """The one door to slot records (ChannelsBackend.slots)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # Reads

    def get(self, slot_id: str) -> Slot | None:
        item = self.table.get(slot_key(slot_id))
        return slot_from_item(item) if item else None

    def schedule_version(self, channel_id: str) -> int:
        """The channel's schedule version (0 before its first booking); read before the time entries."""
        item = self.table.get(schedule_key(channel_id))
        return int(item["version"]) if item else 0

    def ending_after(self, channel_id: str, at: datetime, limit: int) -> list[Slot]:
        """The channel's first `limit` live slots ending after `at`, earliest first (one consistent Query)."""
        items, _ = self.table.query(**ending_after_query(channel_id, at, limit))
        return slots_of(items)

    def around(self, channel_id: str, now: datetime, grace: timedelta) -> list[Slot]:
        """The live slots that may cover `now` widened by `grace`, and one more (to tell whether the
        channel is scheduled): those ending after `now - grace`, earliest first."""
        return self.ending_after(channel_id, now - grace, candidates_around(grace))

    def all_ending_after(self, channel_id: str, at: datetime) -> list[Slot]:
        """Every live slot of the channel ending after `at` (unassign and delete; not for pages)."""
        return slots_of(list(self.table.query_all(**_channel_query(channel_id, _after(at), None))))

    def channel_page(self, channel_id: str, start: datetime, end: datetime | None, first: int,
                     after: str | None) -> SlotPage:
        """channel_page_query's page, read."""
        return self._page(channel_page_query(channel_id, start, end, first, after))

    def host_page(self, host_user_id: str, start: datetime, end: datetime | None, first: int,
                  after: str | None) -> SlotPage:
        """host_page_query's page, read."""
        return self._page(host_page_query(host_user_id, start, end, first, after))

    def _page(self, page_query: SlotPageQuery) -> SlotPage:
        items, _ = self.table.query(**page_query.query)
        return page_query.page(items)

    # Writes

    def book(self, slot: Slot, expected_version: int) -> None:
        """Write a new slot, conditional on the schedule version read and on its host's assignment.

        Raises ScheduleChanged (another booking or move came first: plan again) or HostNotAssigned."""
        record = {**slot_key(slot.id), "entityType": SLOT_ENTITY, SLOT_HOST_ATTRIBUTE: slot.host_user_id,
                  **_attributes(slot)}
        entry = {**time_entry_key(slot.channel_id, slot.ends_at, slot.id), "entityType": SLOT_TIME_ENTITY,
                 **_attributes(slot)}
        self._write(slot, expected_version, [put(entry, condition="attribute_not_exists(pk)"),
                                             put(record, condition="attribute_not_exists(pk)")])

    def move(self, slot: Slot, times: SlotTimes, expected_version: int) -> Slot:
        """Give a live slot new times, conditional on the schedule version read, on the slot being as
        read, and on its host's assignment. Raises ScheduleChanged, SlotChanged or HostNotAssigned."""
        moved = Slot(slot.id, slot.channel_id, slot.host_user_id, slot.title, times, slot.created_by,
                     slot.created_at)
        new_entry = {**time_entry_key(slot.channel_id, times.ends_at, slot.id), "entityType": SLOT_TIME_ENTITY,
                     **_attributes(moved)}
        entries = [self._record_update(
            slot, "SET startsAt = :starts, endsAt = :ends",
            {":starts": format_timestamp(times.starts_at), ":ends": format_timestamp(times.ends_at)})]
        if times.ends_at == slot.ends_at:  # the same entry: one write of it
            entries.append(put(new_entry, condition="attribute_exists(pk)"))
        else:
            entries += [delete(time_entry_key(slot.channel_id, slot.ends_at, slot.id), condition="attribute_exists(pk)"),
                        put(new_entry, condition="attribute_not_exists(pk)")]
        self._write(slot, expected_version, entries)
        return moved

    def cancel(self, slot: Slot, now: datetime) -> Slot:
        """Cancel a live slot as read (SlotChanged when it was moved or cancelled meanwhile)."""
        unit = UnitOfWork(self.table)
        self.add_cancel_to(unit, slot, now)
        try:
            unit.commit()
        except TransactionRefused:
            raise SlotChanged from None
        return _cancelled(slot, now)

    def add_cancel_to(self, unit: UnitOfWork, slot: Slot, now: datetime) -> None:
        """A cancel (CANCEL_ITEMS items): the record gets `cancelledAt` and leaves the host index, its
        time entry goes (it blocks no time)."""
        unit.add(SLOT_PART, [
            self._record_update(slot, f"SET cancelledAt = :now REMOVE {SLOT_HOST_ATTRIBUTE}",
                                {":now": format_timestamp(now)}),
            delete(time_entry_key(slot.channel_id, slot.ends_at, slot.id), condition="attribute_exists(pk)"),
        ])

    def cancel_all(self, slots: Sequence[Slot], now: datetime) -> list[Slot]:
        """Cancel each slot, in transactions of as many as fit; one already changed is left as it is
        (a cancel is final, a move is planned again by the caller). Returns those cancelled here."""
        done: list[Slot] = []
        per_transaction = TRANSACTION_ITEMS_MAX // CANCEL_ITEMS
        for start in range(0, len(slots), per_transaction):
            batch = slots[start:start + per_transaction]
            unit = UnitOfWork(self.table)
            for slot in batch:
                self.add_cancel_to(unit, slot, now)
            try:
                unit.commit()
                done += [_cancelled(slot, now) for slot in batch]
            except TransactionRefused:
                for slot in batch:  # one of them changed: cancel the others one by one
                    try:
                        done.append(self.cancel(slot, now))
                    except SlotChanged:
                        pass
        return done

    def add_schedule_unchanged_to(self, unit: UnitOfWork, channel_id: str, expected_version: int) -> None:
        """A ConditionCheck: no booking or move of the channel since its version was read."""
        condition, values = self._version_condition(expected_version)
        unit.add(SCHEDULE_PART, [condition_check(schedule_key(channel_id), condition, values=values)])

    def _next_version(self, channel_id: str, expected_version: int) -> dict[str, Any]:
        condition, values = self._version_condition(expected_version)
        return update(
            schedule_key(channel_id),
            "SET version = :next, entityType = :entity, channelId = :channel",
            condition=condition,
            values={**values, ":next": expected_version + 1, ":entity": SCHEDULE_ENTITY, ":channel": channel_id},
        )

    @staticmethod
    def _version_condition(expected_version: int) -> tuple[str, dict[str, Any]]:
        if expected_version == 0:
            return "attribute_not_exists(version)", {}
        return "version = :read", {":read": expected_version}

    @staticmethod
    def _record_update(slot: Slot, expression: str, values: dict[str, Any]) -> dict[str, Any]:
        return update(
            slot_key(slot.id),
            expression,
            condition="startsAt = :read_starts AND endsAt = :read_ends AND attribute_not_exists(cancelledAt)",
            values={**values, ":read_starts": format_timestamp(slot.starts_at),
                    ":read_ends": format_timestamp(slot.ends_at)},
        )

    @staticmethod
    def _host_assigned(slot: Slot) -> dict[str, Any]:
        return condition_check(assignment_key(slot.host_user_id), "channelId = :channel",
                               values={":channel": slot.channel_id})

    def _write(self, slot: Slot, expected_version: int, entries: list[dict[str, Any]]) -> None:
        """A booking or move: the next schedule version, the slot's `entries`, its host's assignment."""
        unit = UnitOfWork(self.table)
        unit.add(SCHEDULE_PART, [self._next_version(slot.channel_id, expected_version)])
        unit.add(SLOT_PART, entries)
        unit.add(HOST_ASSIGNED_PART, [self._host_assigned(slot)])
        try:
            unit.commit()
        except TransactionRefused as refused:
            if refused.includes(HOST_ASSIGNED_PART):
                raise HostNotAssigned from None
            if refused.includes(SCHEDULE_PART):
                raise ScheduleChanged from None
            raise SlotChanged from None


def _cancelled(slot: Slot, now: datetime) -> Slot:
    return Slot(slot.id, slot.channel_id, slot.host_user_id, slot.title, slot.times, slot.created_by,
                slot.created_at, cancelled_at=now)

