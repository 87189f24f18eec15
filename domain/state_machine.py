"""Channel states, the transitions between them, and the statistics they update (CONTRACT.md section 2)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from domain.errors import Conflict, InvalidStateTransition
from domain.model import Channel, ChannelState
from domain.sessions import SessionEndReason

ALLOWED_TRANSITIONS: frozenset[tuple[ChannelState, ChannelState]] = frozenset(
    {
        (ChannelState.IDLE, ChannelState.LIVE),
        (ChannelState.LIVE, ChannelState.IDLE),
        (ChannelState.IDLE, ChannelState.OFFLINE),
        (ChannelState.OFFLINE, ChannelState.IDLE),
        (ChannelState.LIVE, ChannelState.OFFLINE),
    }
)


@dataclass(frozen=True)
class StateChange:
    """One transition to write, with exactly what it changes on the channel record.

    `expected_state` and `expected_session_id` are what the write is conditional on, so that a
    concurrent change between the read and the write makes the write fail instead of counting twice.
    """

    expected_state: ChannelState
    expected_session_id: str | None
    new_state: ChannelState
    at: datetime
    # Entering LIVE: the session opened, who broadcasts, and IVS's stream id when IVS reported it
    session_id: str | None = None
    host_user_id: str | None = None
    stream_id: str | None = None
    # The slot the broadcast started in, on a scheduled SHARED channel (docs/schedules.md)
    slot_id: str | None = None
    # Whether `session_id` was given by the caller (docs/broadcasts.md: a caller may name a session once)
    session_named: bool = False
    # Leaving LIVE: the session closed (None for a broadcast older than session records) and why
    minutes_streamed: float = 0.0
    closing_session_key: str | None = None
    end_reason: SessionEndReason = SessionEndReason.ENDED_BY_CALLER
    # When the closed session ended, if not `at` (a LOST session ends when IVS last saw its stream)
    session_ended_at: datetime | None = None

    @property
    def enters_live(self) -> bool:
        return self.new_state is ChannelState.LIVE

    @property
    def leaves_live(self) -> bool:
        return self.expected_state is ChannelState.LIVE


def plan_state_change(
    channel: Channel,
    target: ChannelState,
    session_id: str | None,
    now: datetime,
    *,
    host_user_id: str | None = None,
    stream_id: str | None = None,
    end_reason: SessionEndReason = SessionEndReason.ENDED_BY_CALLER,
    slot_id: str | None = None,
) -> StateChange | None:
    """What setting `target` on `channel` means; None when it is a no-op.

    Entering LIVE opens a session broadcast by `host_user_id` (in slot `slot_id`, if any); leaving LIVE closes the channel's
    current session with `end_reason`.

    Raises InvalidStateTransition for a transition the state machine forbids, and Conflict for
    LIVE→LIVE with a session id other than the current one. Leaving LIVE with a session id names the
    session the caller means to end: Conflict when another one is live, so that a late retry of one
    session's end never ends the next session (the write is conditional on the session it read).
    """
    if (
        channel.state is ChannelState.LIVE
        and target is not ChannelState.LIVE
        and session_id is not None
        and session_id != channel.current_session_id
    ):
        raise Conflict(
            f"Channel '{channel.id}' is LIVE with another session ('{channel.current_session_id}'), "
            f"not '{session_id}'; nothing was changed."
        )
    if channel.state is target:
        if target is ChannelState.LIVE and session_id is not None and session_id != channel.current_session_id:
            raise Conflict(
                f"Channel '{channel.id}' is already LIVE with another session "
                f"('{channel.current_session_id}'); set it IDLE first."
            )
        return None
    if (channel.state, target) not in ALLOWED_TRANSITIONS:
        raise InvalidStateTransition(
            f"Channel '{channel.id}' cannot go from {channel.state.value} to {target.value}; "
            f"allowed from {channel.state.value}: {_allowed_from(channel.state)}."
        )
    if target is ChannelState.LIVE:
        return StateChange(
            expected_state=channel.state,
            expected_session_id=channel.current_session_id,
            new_state=target,
            at=now,
            session_id=session_id or str(uuid.uuid4()),
            host_user_id=host_user_id,
            stream_id=stream_id,
            slot_id=slot_id,
        )
    return StateChange(
        expected_state=channel.state,
        expected_session_id=channel.current_session_id,
        new_state=target,
        at=now,
        minutes_streamed=minutes_since(channel.live_since, now) if channel.state is ChannelState.LIVE else 0.0,
        closing_session_key=channel.current_session_key if channel.state is ChannelState.LIVE else None,
        end_reason=end_reason,
    )


def minutes_since(live_since: datetime | None, now: datetime) -> float:
    """Minutes of one broadcast; zero when its start is unknown (older records) or in the future."""
    if live_since is None:
        return 0.0
    return round(max((now - live_since).total_seconds(), 0.0) / 60, 3)


def _allowed_from(state: ChannelState) -> str:
    targets = sorted(to.value for (frm, to) in ALLOWED_TRANSITIONS if frm is state)
    return ", ".join(targets)
