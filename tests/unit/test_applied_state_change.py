"""services.transitions.applied: the channel a state change leaves, as setChannelState returns it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from domain.model import ChannelState, ChannelStats
from domain.state_machine import plan_state_change
from services.transitions import applied
from tests.unit.builders import NOW, make_channel

LAST_BROADCAST = datetime(2026, 9, 30, 20, 0, 0, tzinfo=UTC)


def test_entering_live_counts_a_broadcast_and_records_its_start() -> None:
    channel = make_channel(stats=ChannelStats(total_broadcasts=3, total_streaming_minutes=45.5,
                                              last_broadcast_at=LAST_BROADCAST))
    change = plan_state_change(channel, ChannelState.LIVE, "s-1", NOW)
    assert change is not None

    assert applied(channel, change) == dataclasses.replace(
        channel,
        state=ChannelState.LIVE,
        current_session_id="s-1",
        # The open StreamSession record's key (CONTRACT.md section 7).
        current_session_key="session#2026-10-01T18:00:00.000Z#s-1",
        live_since=NOW,
        updated_at=NOW,
        stats=ChannelStats(total_broadcasts=4, total_streaming_minutes=45.5, last_broadcast_at=NOW),
    )


def test_leaving_live_adds_the_minutes_and_clears_the_session() -> None:
    went_live = NOW - timedelta(minutes=30)
    channel = make_channel(
        state=ChannelState.LIVE,
        current_session_id="s-1",
        live_since=went_live,
        stats=ChannelStats(total_broadcasts=4, total_streaming_minutes=45.5, last_broadcast_at=went_live),
    )
    change = plan_state_change(channel, ChannelState.IDLE, None, NOW)
    assert change is not None

    assert applied(channel, change) == dataclasses.replace(
        channel,
        state=ChannelState.IDLE,
        current_session_id=None,
        live_since=None,
        updated_at=NOW,
        stats=ChannelStats(total_broadcasts=4, total_streaming_minutes=75.5, last_broadcast_at=went_live),
    )


def test_leaving_live_to_offline_adds_the_minutes_too() -> None:
    channel = make_channel(state=ChannelState.LIVE, current_session_id="s-1", live_since=NOW - timedelta(seconds=90),
                           stats=ChannelStats(total_broadcasts=1))
    change = plan_state_change(channel, ChannelState.OFFLINE, None, NOW)
    assert change is not None

    result = applied(channel, change)

    assert (result.state, result.current_session_id, result.live_since) == (ChannelState.OFFLINE, None, None)
    assert result.stats == ChannelStats(total_broadcasts=1, total_streaming_minutes=1.5)


def test_idle_to_offline_changes_only_state_and_updated_at() -> None:
    channel = make_channel(stats=ChannelStats(total_broadcasts=2, total_streaming_minutes=10.0,
                                              last_broadcast_at=LAST_BROADCAST))
    change = plan_state_change(channel, ChannelState.OFFLINE, None, NOW)
    assert change is not None

    assert applied(channel, change) == dataclasses.replace(channel, state=ChannelState.OFFLINE, updated_at=NOW)
