"""setChannelState's write (CONTRACT.md section 2): conditional on what it was planned from, so that
concurrent calls never count one broadcast twice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.backend import ChannelsBackend
from data.state_changes import StaleChannel
from domain.capacity import CapacityCounts
from domain.model import Channel, ChannelState, ChannelStats
from domain.state_machine import StateChange, plan_state_change
from services.transitions import applied
from tests.data.table_setup import store_channel
from tests.unit.builders import NOW
from tests.unit.seed_records import seed_channel

IDLE, LIVE, OFFLINE = ChannelState.IDLE, ChannelState.LIVE, ChannelState.OFFLINE


def plan(
    channel: Channel, target: ChannelState, session_id: str | None = None, *, minutes_later: float = 0
) -> StateChange:
    """The change setting `target` at NOW (plus `minutes_later`) means, as setChannelState plans it."""
    change = plan_state_change(channel, target, session_id, NOW + timedelta(minutes=minutes_later))
    assert change is not None
    return change


def counts(idle: int, live: int, offline: int) -> CapacityCounts:
    return CapacityCounts(used=idle + live + offline, by_state={IDLE: idle, LIVE: live, OFFLINE: offline})


def test_going_live_writes_the_session_and_counts_a_broadcast(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)
    change = plan(channel, LIVE, "s-1")

    stores.state_changes.apply_state_change(channel.id, change)

    assert stores.channels.get_channel(channel.id) == applied(channel, change)
    assert stores.capacity.read_capacity_counts() == counts(idle=0, live=1, offline=0)


def test_leaving_live_writes_the_minutes_and_removes_the_session(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)
    live_change = plan(channel, LIVE, "s-1")
    stores.state_changes.apply_state_change(channel.id, live_change)
    live = applied(channel, live_change)
    idle_change = plan(live, IDLE, minutes_later=45)

    stores.state_changes.apply_state_change(channel.id, idle_change)

    stored = stores.channels.get_channel(channel.id)
    assert stored == applied(live, idle_change)
    assert stored is not None and stored.stats.total_streaming_minutes == 45.0
    assert stores.capacity.read_capacity_counts() == counts(idle=1, live=0, offline=0)


def test_going_live_from_a_stale_read_is_refused_and_counts_nothing(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)
    first = plan(channel, LIVE, "s-1")
    concurrent = plan(channel, LIVE, "s-2")  # planned from the same read, before the first was written
    stores.state_changes.apply_state_change(channel.id, first)

    with pytest.raises(StaleChannel):
        stores.state_changes.apply_state_change(channel.id, concurrent)

    assert stores.channels.get_channel(channel.id) == applied(channel, first)
    assert stores.capacity.read_capacity_counts() == counts(idle=0, live=1, offline=0)


def test_leaving_live_twice_from_the_same_read_counts_the_minutes_once(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)
    live_change = plan(channel, LIVE, "s-1")
    stores.state_changes.apply_state_change(channel.id, live_change)
    live = applied(channel, live_change)
    to_idle = plan(live, IDLE, minutes_later=30)
    to_offline = plan(live, OFFLINE, minutes_later=30)
    stores.state_changes.apply_state_change(channel.id, to_idle)

    with pytest.raises(StaleChannel):
        stores.state_changes.apply_state_change(channel.id, to_offline)

    stored = stores.channels.get_channel(channel.id)
    assert stored is not None and stored.state is IDLE
    assert stored.stats.total_streaming_minutes == to_idle.minutes_streamed == 30.0
    assert stores.capacity.read_capacity_counts() == counts(idle=1, live=0, offline=0)


def test_a_change_planned_for_another_session_is_stale(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)
    first = plan(channel, LIVE, "s-1")
    stores.state_changes.apply_state_change(channel.id, first)
    live = applied(channel, first)
    leave = plan(live, IDLE)
    stores.state_changes.apply_state_change(channel.id, leave)
    second = plan(applied(live, leave), LIVE, "s-2")
    stores.state_changes.apply_state_change(channel.id, second)

    # Planned while s-1 was live; s-2 is live now.
    with pytest.raises(StaleChannel):
        stores.state_changes.apply_state_change(channel.id, plan(live, IDLE))

    stored = stores.channels.get_channel(channel.id)
    assert stored is not None and (stored.state, stored.current_session_id) == (LIVE, "s-2")


def test_a_change_to_a_channel_without_record_is_stale(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)
    stores.table.client.delete_item(
        TableName=stores.table.name, Key={"pk": {"S": f"channel#{channel.id}"}, "sk": {"S": "info"}}
    )

    with pytest.raises(StaleChannel):
        stores.state_changes.apply_state_change(channel.id, plan(channel, LIVE, "s-1"))

    assert stores.channels.get_channel(channel.id) is None


def test_older_live_record_with_null_session_can_be_set_idle(stores: ChannelsBackend) -> None:
    table = stores.table
    record = seed_channel("0d000000-0000-4000-8000-000000000004", state="LIVE", session_id=None)
    table.client.put_item(TableName=table.name, Item=record)
    channel = stores.channels.get_channel("0d000000-0000-4000-8000-000000000004")
    assert channel is not None and channel.current_session_id is None

    stores.state_changes.apply_state_change(channel.id, plan(channel, IDLE))

    stored = stores.channels.get_channel(channel.id)
    assert stored is not None
    assert (stored.state, stored.current_session_id) == (IDLE, None)
    assert stored.stats == ChannelStats(total_broadcasts=0, total_streaming_minutes=0.0)
