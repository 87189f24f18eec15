"""createChannel's capacity slot and idempotency key (CONTRACT.md section 2): one conditional transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest

from data.repository import CapacityFull, ChannelRepository, IdempotencyKeyTaken, IdempotencyRecord
from domain.capacity import CapacityCounts
from domain.clock import utc_now
from domain.model import ChannelState

LIMIT = 2
NO_STATES = {ChannelState.IDLE: 0, ChannelState.LIVE: 0, ChannelState.OFFLINE: 0}


def used(repository: ChannelRepository) -> int:
    return repository.read_capacity_counts().used


def test_slots_are_reserved_up_to_the_limit(repository: ChannelRepository) -> None:
    now = utc_now()
    repository.reserve_channel_slot("c-1", LIMIT, now, None)
    repository.reserve_channel_slot("c-2", LIMIT, now, None)

    assert repository.read_capacity_counts() == CapacityCounts(used=2, by_state=NO_STATES)


def test_reserving_at_the_limit_is_capacity_full_and_takes_nothing(repository: ChannelRepository) -> None:
    now = utc_now()
    repository.reserve_channel_slot("c-1", LIMIT, now, None)
    repository.reserve_channel_slot("c-2", LIMIT, now, None)

    with pytest.raises(CapacityFull):
        repository.reserve_channel_slot("c-3", LIMIT, now, None)

    assert used(repository) == 2


def test_releasing_a_slot_gives_it_back(repository: ChannelRepository) -> None:
    now = utc_now()
    repository.reserve_channel_slot("c-1", LIMIT, now, None)
    repository.reserve_channel_slot("c-2", LIMIT, now, None)

    repository.release_channel_slot("c-2", None)
    repository.reserve_channel_slot("c-3", LIMIT, now, None)

    assert used(repository) == 2


def test_reservation_with_a_key_records_it_as_pending(repository: ChannelRepository) -> None:
    now = utc_now()

    repository.reserve_channel_slot("c-1", LIMIT, now, ("key-1", "Morning Show|STANDARD|LOW|HOST_OWNED|true"))

    assert repository.get_idempotency_record("key-1", now) == IdempotencyRecord(
        key="key-1", fingerprint="Morning Show|STANDARD|LOW|HOST_OWNED|true", channel_id="c-1", complete=False
    )


def test_second_reservation_with_the_same_key_is_idempotency_key_taken(repository: ChannelRepository) -> None:
    now = utc_now()
    repository.reserve_channel_slot("c-1", LIMIT, now, ("key-1", "fingerprint"))

    with pytest.raises(IdempotencyKeyTaken):
        repository.reserve_channel_slot("c-2", LIMIT, now, ("key-1", "fingerprint"))

    assert used(repository) == 1
    record = repository.get_idempotency_record("key-1", now)
    assert record is not None and record.channel_id == "c-1"


def test_taken_key_wins_over_capacity_full(repository: ChannelRepository) -> None:
    # A retry must find its channel even when capacity has filled since.
    now = utc_now()
    repository.reserve_channel_slot("c-1", LIMIT, now, ("key-1", "fingerprint"))
    repository.reserve_channel_slot("c-2", LIMIT, now, None)

    with pytest.raises(IdempotencyKeyTaken):
        repository.reserve_channel_slot("c-3", LIMIT, now, ("key-1", "fingerprint"))


def test_expired_key_is_taken_over(repository: ChannelRepository) -> None:
    now = utc_now()
    repository.reserve_channel_slot("c-old", LIMIT, now - timedelta(hours=25), ("key-1", "old"))

    repository.reserve_channel_slot("c-new", LIMIT, now, ("key-1", "new"))

    assert repository.get_idempotency_record("key-1", now) == IdempotencyRecord(
        key="key-1", fingerprint="new", channel_id="c-new", complete=False
    )


def test_expired_key_reads_as_absent(repository: ChannelRepository) -> None:
    now = utc_now()
    repository.reserve_channel_slot("c-old", LIMIT, now - timedelta(hours=24, seconds=1), ("key-1", "old"))

    assert repository.get_idempotency_record("key-1", now) is None


def test_key_is_kept_for_24_hours(repository: ChannelRepository) -> None:
    now = utc_now()
    repository.reserve_channel_slot("c-1", LIMIT, now - timedelta(hours=23, minutes=59), ("key-1", "fingerprint"))

    with pytest.raises(IdempotencyKeyTaken):
        repository.reserve_channel_slot("c-2", LIMIT, now, ("key-1", "fingerprint"))


def test_releasing_a_slot_frees_its_key(repository: ChannelRepository) -> None:
    now = utc_now()
    repository.reserve_channel_slot("c-1", LIMIT, now, ("key-1", "fingerprint"))

    repository.release_channel_slot("c-1", "key-1")

    assert repository.get_idempotency_record("key-1", now) is None
    assert used(repository) == 0


def test_releasing_after_the_key_was_taken_over_keeps_the_new_holder(repository: ChannelRepository) -> None:
    now = utc_now()
    repository.reserve_channel_slot("c-old", LIMIT, now - timedelta(hours=25), ("key-1", "old"))
    repository.reserve_channel_slot("c-new", LIMIT, now, ("key-1", "new"))

    repository.release_channel_slot("c-old", "key-1")

    record = repository.get_idempotency_record("key-1", now)
    assert record is not None and record.channel_id == "c-new"
    assert used(repository) == 1
