"""capacity (CONTRACT.md section 2): available, utilizationPercent and byState from the counters."""

from __future__ import annotations

import pytest

from domain.capacity import Capacity, CapacityCounts, compute_capacity
from domain.model import ChannelState

IDLE, LIVE, OFFLINE = ChannelState.IDLE, ChannelState.LIVE, ChannelState.OFFLINE


def test_capacity_of_an_account_with_some_channels() -> None:
    counts = CapacityCounts(used=5, by_state={IDLE: 3, LIVE: 1, OFFLINE: 1})

    assert compute_capacity(20, counts) == Capacity(
        limit=20, used=5, available=15, utilization_percent=25.0, by_state={IDLE: 3, LIVE: 1, OFFLINE: 1}
    )


def test_available_is_never_negative_when_more_channels_exist_than_the_limit() -> None:
    capacity = compute_capacity(20, CapacityCounts(used=23, by_state={IDLE: 23}))

    assert (capacity.used, capacity.available, capacity.utilization_percent) == (23, 0, 115.0)


def test_available_is_zero_exactly_at_the_limit() -> None:
    capacity = compute_capacity(3, CapacityCounts(used=3, by_state={IDLE: 3}))

    assert (capacity.available, capacity.utilization_percent) == (0, 100.0)


@pytest.mark.parametrize(
    ("used", "limit", "percent"),
    [(1, 3, 33.3), (2, 3, 66.7), (0, 20, 0.0), (1, 7, 14.3), (20, 20, 100.0)],
)
def test_utilization_percent_is_rounded_to_one_decimal(used: int, limit: int, percent: float) -> None:
    assert compute_capacity(limit, CapacityCounts(used=used, by_state={})).utilization_percent == percent


def test_by_state_has_all_three_states_even_when_none_were_counted() -> None:
    capacity = compute_capacity(20, CapacityCounts(used=2, by_state={LIVE: 2}))

    assert capacity.by_state == {IDLE: 0, LIVE: 2, OFFLINE: 0}


def test_a_counter_that_drifted_below_zero_reads_as_zero() -> None:
    capacity = compute_capacity(20, CapacityCounts(used=-1, by_state={IDLE: -1}))

    assert capacity == Capacity(limit=20, used=0, available=20, utilization_percent=0.0,
                                by_state={IDLE: 0, LIVE: 0, OFFLINE: 0})
