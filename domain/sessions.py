"""Broadcasts as records (CONTRACT.md section 7): one StreamSession from going LIVE to leaving LIVE.

Plain values and rules; storage writes a session in the same transaction as the state change that
opens or closes it (data.sessions), so each broadcast is one session whatever path reported it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.model import Channel, Recording


class SessionEndReason(StrEnum):
    ENDED_BY_CALLER = "ENDED_BY_CALLER"  # setChannelState IDLE or OFFLINE
    STREAM_ENDED = "STREAM_ENDED"  # IVS reported the stream's end
    STOPPED_BY_ADMIN = "STOPPED_BY_ADMIN"  # stopBroadcast
    LOST = "LOST"  # the live-state check found IVS no longer receiving the stream


@dataclass(frozen=True)
class StreamSession:
    channel_id: str
    session_id: str
    stream_id: str | None
    started_at: datetime
    ended_at: datetime | None
    duration_minutes: float | None
    host_user_id: str | None
    end_reason: SessionEndReason | None
    recording: Recording | None = None
    # The slot the broadcast started in, on a scheduled SHARED channel (docs/schedules.md).
    slot_id: str | None = None


def only_host(channel: Channel) -> str | None:
    """Who broadcast a start IVS reported: the channel's only host; None with none or several."""
    if len(channel.assigned_host_ids) == 1:
        return next(iter(channel.assigned_host_ids))
    return None
