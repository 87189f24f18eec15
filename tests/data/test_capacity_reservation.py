"""createChannel's capacity slot and idempotency key (CONTRACT.md section 2): one conditional transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest

from data.capacity import CapacityFull
from data.idempotency import IdempotencyKeyTaken, IdempotencyRecord
from services.backend import ChannelsBackend
from domain.capacity import CapacityCounts
from domain.clock import utc_now
from domain.model import ChannelState

LIMIT = 2
NO_STATES = {ChannelState.IDLE: 0, ChannelState.LIVE: 0, ChannelState.OFFLINE: 0}


def used(stores: ChannelsBackend) -> int:
    return stores.capacity.read_capacity_counts().used


def test_slots_are_reserved_up_to_the_limit(stores: ChannelsBackend) -> None:
    now = utc_now()
    stores.capacity.reserve_channel_slot("c-1", LIMIT, now, None)
    stores.capacity.reserve_channel_slot("c-2", LIMIT, now, None)

    assert stores.capacity.read_capacity_counts() == CapacityCounts(used=2, by_state=NO_STATES)


def test_reserving_at_the_limit_is_capacity_full_and_takes_nothing(stores: ChannelsBackend) -> None:
    now = utc_now()
    stores.capacity.reserve_channel_slot("c-1", LIMIT, now, None)
    stores.capacity.reserve_channel_slot("c-2", LIMIT, now, None)

    with pytest.raises(CapacityFull):
        stores.capacity.reserve_channel_slot("c-3", LIMIT, now, None)

    assert used(stores) == 2


def test_releasing_a_slot_gives_it_back(stores: ChannelsBackend) -> None:
    now = utc_now()
    stores.capacity.reserve_channel_slot("c-1", LIMIT, now, None)
    stores.capacity.reserve_channel_slot("c-2", LIMIT, now, None)

    stores.capacity.release_channel_slot("c-2", None)
    stores.capacity.reserve_channel_slot("c-3", LIMIT, now, None)

    assert used(stores) == 2


def test_reservation_with_a_key_records_it_as_pending(stores: ChannelsBackend) -> None:
    now = utc_now()

    stores.capacity.reserve_channel_slot("c-1", LIMIT, now, ("key-1", "Morning Show|STANDARD|LOW|HOST_OWNED|true"))

    assert stores.idempotency_records.get_idempotency_record("key-1", now) == IdempotencyRecord(
        key="key-1", fingerprint="Morning Show|STANDARD|LOW|HOST_OWNED|true", channel_id="c-1", complete=False
    )


def test_second_reservation_with_the_same_key_is_idempotency_key_taken(stores: ChannelsBackend) -> None:
    now = utc_now()
    stores.capacity.reserve_channel_slot("c-1", LIMIT, now, ("key-1", "fingerprint"))

    with pytest.raises(IdempotencyKeyTaken):
        stores.capacity.reserve_channel_slot("c-2", LIMIT, now, ("key-1", "fingerprint"))

    assert used(stores) == 1
    record = stores.idempotency_records.get_idempotency_record("key-1", now)
    assert record is not None and record.channel_id == "c-1"


def test_taken_key_wins_over_capacity_full(stores: ChannelsBackend) -> None:
    # A retry must find its channel even when capacity has filled since.
    now = utc_now()
    stores.capacity.reserve_channel_slot("c-1", LIMIT, now, ("key-1", "fingerprint"))
    stores.capacity.reserve_channel_slot("c-2", LIMIT, now, None)

    with pytest.raises(IdempotencyKeyTaken):
        stores.capacity.reserve_channel_slot("c-3", LIMIT, now, ("key-1", "fingerprint"))


def test_expired_key_is_taken_over(stores: ChannelsBackend) -> None:
    now = utc_now()
    stores.capacity.reserve_channel_slot("c-old", LIMIT, now - timedelta(hours=25), ("key-1", "old"))

    stores.capacity.reserve_channel_slot("c-new", LIMIT, now, ("key-1", "new"))

    assert stores.idempotency_records.get_idempotency_record("key-1", now) == IdempotencyRecord(
        key="key-1", fingerprint="new", channel_id="c-new", complete=False
    )


def test_expired_key_reads_as_absent(stores: ChannelsBackend) -> None:
    now = utc_now()
    stores.capacity.reserve_channel_slot("c-old", LIMIT, now - timedelta(hours=24, seconds=1), ("key-1", "old"))

    assert stores.idempotency_records.get_idempotency_record("key-1", now) is None


def test_key_is_kept_for_24_hours(stores: ChannelsBackend) -> None:
    now = utc_now()
    stores.capacity.reserve_channel_slot("c-1", LIMIT, now - timedelta(hours=23, minutes=59), ("key-1", "fingerprint"))

    with pytest.raises(IdempotencyKeyTaken):
        stores.capacity.reserve_channel_slot("c-2", LIMIT, now, ("key-1", "fingerprint"))


def test_releasing_a_slot_frees_its_key(stores: ChannelsBackend) -> None:
    now = utc_now()
    stores.capacity.reserve_channel_slot("c-1", LIMIT, now, ("key-1", "fingerprint"))

    stores.capacity.release_channel_slot("c-1", "key-1")

    assert stores.idempotency_records.get_idempotency_record("key-1", now) is None
    assert used(stores) == 0


def test_releasing_after_the_key_was_taken_over_keeps_the_new_holder(stores: ChannelsBackend) -> None:
    now = utc_now()
    stores.capacity.reserve_channel_slot("c-old", LIMIT, now - timedelta(hours=25), ("key-1", "old"))
    stores.capacity.reserve_channel_slot("c-new", LIMIT, now, ("key-1", "new"))

    stores.capacity.release_channel_slot("c-old", "key-1")

    record = stores.idempotency_records.get_idempotency_record("key-1", now)
    assert record is not None and record.channel_id == "c-new"
    assert used(stores) == 1
