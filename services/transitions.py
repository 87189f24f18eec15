"""A written state change as the channel it leaves, and the pause between polls of another request:
shared by the use cases that change a channel's state (services.channels, services.stream_control)."""

from __future__ import annotations

import dataclasses
import time

from domain.model import Channel
from domain.state_machine import StateChange
from data.sessions import session_sort_key


def wait_briefly(attempt: int) -> None:
    """Pause between polls of another request's progress (a create with the same key in flight)."""
    time.sleep(min(0.05 * 2**attempt, 0.5))


def applied(channel: Channel, change: StateChange) -> Channel:
    """The channel as `change` leaves it (what apply_state_change wrote), without reading it back."""
    stats = channel.stats
    if change.enters_live:
        return dataclasses.replace(
            channel,
            state=change.new_state,
            current_session_id=change.session_id,
            current_session_key=session_sort_key(change.at, change.session_id or ""),
            current_stream_id=change.stream_id,
            current_session_named=change.session_named,
            live_since=change.at,
            updated_at=change.at,
            stats=dataclasses.replace(stats, total_broadcasts=stats.total_broadcasts + 1, last_broadcast_at=change.at),
        )
    return dataclasses.replace(
        channel,
        state=change.new_state,
        current_session_id=None if change.leaves_live else channel.current_session_id,
        live_since=None if change.leaves_live else channel.live_since,
        current_session_key=None if change.leaves_live else channel.current_session_key,
        current_stream_id=None if change.leaves_live else channel.current_stream_id,
        current_session_named=False if change.leaves_live else channel.current_session_named,
        updated_at=change.at,
        stats=dataclasses.replace(
            stats, total_streaming_minutes=round(stats.total_streaming_minutes + change.minutes_streamed, 3)
        ),
    )
