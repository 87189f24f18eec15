"""Slot storage (data.slots) against moto: each conditional write refuses what it guards against."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from data.dynamo import DynamoTable
from data.assignments import AlongsideChanged
from services.backend import ChannelsBackend
from data.slots import HostNotAssigned, ScheduleChanged, SlotChanged, SlotStore
from data.unit_of_work import UnitOfWork
from data.table import SLOT_ENTITY, schedule_key, slot_key
from domain.slots import Slot, SlotTimes

NOW = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)
TEN = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def store(stores: ChannelsBackend) -> SlotStore:
    return stores.slots


def assign(table: DynamoTable, host: str, channel_id: str) -> None:
    table.client.put_item(TableName=table.name, Item={
        "pk": {"S": f"host#{host}"}, "sk": {"S": "channel#assignment"}, "channelId": {"S": channel_id},
        "hostUserId": {"S": host}, "entityType": {"S": "channelAssignment"}})


def new_slot(channel_id: str, start: datetime, end: datetime, host: str = "h-1") -> Slot:
    return Slot(str(uuid.uuid4()), channel_id, host, "Show", SlotTimes(start, end), "admin-1", NOW)


def booked(store: SlotStore, start: datetime = TEN, end: datetime = TEN + HOUR, host: str = "h-1",
           channel_id: str | None = None) -> Slot:
    channel_id = channel_id or str(uuid.uuid4())
    assign(store.table, host, channel_id)
    slot = new_slot(channel_id, start, end, host)
    store.book(slot, store.schedule_version(channel_id))
    return slot


def test_a_booking_writes_the_record_with_its_plain_attributes(store: SlotStore) -> None:
    slot = booked(store)
    item = store.table.get(slot_key(slot.id))
    assert item is not None
    assert (item["entityType"], item["channelId"], item["hostUserId"], item["startsAt"], item["endsAt"]) == (
        SLOT_ENTITY, slot.channel_id, "h-1", "2026-12-07T10:00:00.000Z", "2026-12-07T11:00:00.000Z")
    assert "cancelledAt" not in item
    assert store.get(slot.id) == slot


def test_a_booking_increments_the_schedule_version(store: SlotStore) -> None:
    slot = booked(store)
    assert store.schedule_version(slot.channel_id) == 1


def test_a_booking_on_a_version_read_before_another_booking_is_refused(store: SlotStore) -> None:
    first = booked(store)
    late = new_slot(first.channel_id, TEN + 2 * HOUR, TEN + 3 * HOUR)
    with pytest.raises(ScheduleChanged):
        store.book(late, 0)
    assert store.get(late.id) is None
    assert store.ending_after(first.channel_id, NOW, 10) == [first]


def test_a_booking_for_a_host_assigned_elsewhere_is_refused(store: SlotStore) -> None:
    channel_id = str(uuid.uuid4())
    assign(store.table, "h-9", "another-channel")
    slot = new_slot(channel_id, TEN, TEN + HOUR, "h-9")
    with pytest.raises(HostNotAssigned):
        store.book(slot, 0)
    assert store.get(slot.id) is None
    assert store.table.get(schedule_key(channel_id)) is None


def test_a_booking_for_a_host_without_an_assignment_is_refused(store: SlotStore) -> None:
    slot = new_slot(str(uuid.uuid4()), TEN, TEN + HOUR, f"nobody-{uuid.uuid4()}")
    with pytest.raises(HostNotAssigned):
        store.book(slot, 0)


def test_slots_ending_after_a_moment_come_earliest_first(store: SlotStore) -> None:
    first = booked(store)
    second = new_slot(first.channel_id, TEN + 2 * HOUR, TEN + 3 * HOUR)
    third = new_slot(first.channel_id, TEN - 2 * HOUR, TEN - HOUR)
    store.book(second, 1)
    store.book(third, 2)
    assert store.ending_after(first.channel_id, NOW, 10) == [third, first, second]
    assert store.ending_after(first.channel_id, TEN - HOUR, 10) == [first, second]  # back-to-back: ended


def test_a_move_changes_the_times_and_the_order(store: SlotStore) -> None:
    first = booked(store)
    second = new_slot(first.channel_id, TEN + 2 * HOUR, TEN + 3 * HOUR)
    store.book(second, 1)
    moved = store.move(first, SlotTimes(TEN + 4 * HOUR, TEN + 5 * HOUR), 2)
    assert store.ending_after(first.channel_id, NOW, 10) == [second, moved]
    assert store.get(first.id) == moved
    assert store.schedule_version(first.channel_id) == 3


def test_a_move_keeping_the_end_rewrites_its_entry(store: SlotStore) -> None:
    slot = booked(store)
    moved = store.move(slot, SlotTimes(TEN + timedelta(minutes=30), TEN + HOUR), 1)
    assert store.ending_after(slot.channel_id, NOW, 10) == [moved]


def test_a_move_of_a_slot_moved_meanwhile_is_refused(store: SlotStore) -> None:
    slot = booked(store)
    store.move(slot, SlotTimes(TEN + 4 * HOUR, TEN + 5 * HOUR), 1)
    with pytest.raises(SlotChanged):
        store.move(slot, SlotTimes(TEN + 6 * HOUR, TEN + 7 * HOUR), 2)


def test_a_move_on_a_stale_version_is_refused(store: SlotStore) -> None:
    slot = booked(store)
    with pytest.raises(ScheduleChanged):
        store.move(slot, SlotTimes(TEN + 4 * HOUR, TEN + 5 * HOUR), 0)
    assert store.get(slot.id) == slot


def test_a_cancel_frees_the_time_and_marks_the_record(store: SlotStore) -> None:
    slot = booked(store)
    cancelled = store.cancel(slot, NOW)
    assert cancelled.cancelled_at == NOW
    assert store.get(slot.id) == cancelled
    assert store.ending_after(slot.channel_id, NOW, 10) == []


def test_a_cancelled_slot_cannot_be_cancelled_again(store: SlotStore) -> None:
    slot = booked(store)
    store.cancel(slot, NOW)
    with pytest.raises(SlotChanged):
        store.cancel(slot, NOW)


def test_a_cancelled_slot_cannot_be_moved(store: SlotStore) -> None:
    slot = booked(store)
    store.cancel(slot, NOW)
    with pytest.raises(SlotChanged):
        store.move(slot, SlotTimes(TEN + 4 * HOUR, TEN + 5 * HOUR), 1)
    assert store.get(slot.id).cancelled_at == NOW  # type: ignore[union-attr]


def test_cancel_all_cancels_more_than_one_transaction_holds(store: SlotStore) -> None:
    first = booked(store, NOW, NOW + timedelta(minutes=5))
    slots = [first]
    for n in range(1, 60):
        slot = new_slot(first.channel_id, NOW + n * timedelta(minutes=5), NOW + (n + 1) * timedelta(minutes=5))
        store.book(slot, n)
        slots.append(slot)
    assert len(store.cancel_all(slots, NOW)) == 60
    assert store.all_ending_after(first.channel_id, NOW - HOUR) == []


def test_a_channel_page_holds_the_slots_overlapping_the_window(store: SlotStore) -> None:
    first = booked(store)  # 10-11
    second = new_slot(first.channel_id, TEN + HOUR, TEN + 2 * HOUR)  # 11-12
    third = new_slot(first.channel_id, TEN + 3 * HOUR, TEN + 4 * HOUR)  # 13-14
    store.book(second, 1)
    store.book(third, 2)
    page = store.channel_page(first.channel_id, TEN + timedelta(minutes=30), TEN + 3 * HOUR, 10, None)
    assert [slot for slot, _ in page.slots] == [first, second]
    assert not page.has_next_page


def test_channel_pages_follow_their_cursors(store: SlotStore) -> None:
    first = booked(store)
    second = new_slot(first.channel_id, TEN + HOUR, TEN + 2 * HOUR)
    store.book(second, 1)
    page = store.channel_page(first.channel_id, NOW, None, 1, None)
    assert ([slot for slot, _ in page.slots], page.has_next_page) == ([first], True)
    rest = store.channel_page(first.channel_id, NOW, None, 1, page.slots[-1][1])
    assert ([slot for slot, _ in rest.slots], rest.has_next_page) == ([second], False)


def test_a_host_page_reads_the_host_index(store: SlotStore) -> None:
    host = f"h-{uuid.uuid4()}"
    slot = booked(store, host=host)
    page = store.host_page(host, NOW, None, 10, None)
    assert [found for found, _ in page.slots] == [slot]
    store.cancel(slot, NOW)
    assert store.host_page(host, NOW, None, 10, None).slots == []


def test_an_unassignment_conditional_on_a_schedule_changed_since_is_refused_whole(
    store: SlotStore, stores: ChannelsBackend
) -> None:
    slot = booked(store)
    assignment = stores.assignments.get_assignment("h-1")
    assert assignment is not None

    def stale(unit: UnitOfWork) -> None:
        store.add_schedule_unchanged_to(unit, slot.channel_id, 0)
        store.add_cancel_to(unit, slot, NOW)

    with pytest.raises(AlongsideChanged):
        stores.assignments.remove_assignment(assignment, channel_exists=False, alongside=stale)
    assert stores.assignments.get_assignment("h-1") is not None
    assert store.get(slot.id) == slot


def test_an_unassignment_on_the_schedule_as_read_cancels_the_slots_with_it(
    store: SlotStore, stores: ChannelsBackend
) -> None:
    slot = booked(store)
    assignment = stores.assignments.get_assignment("h-1")
    assert assignment is not None

    def current(unit: UnitOfWork) -> None:
        store.add_schedule_unchanged_to(unit, slot.channel_id, 1)
        store.add_cancel_to(unit, slot, NOW)

    stores.assignments.remove_assignment(assignment, channel_exists=False, alongside=current)
    assert stores.assignments.get_assignment("h-1") is None
    assert store.get(slot.id).cancelled_at == NOW  # type: ignore[union-attr]
