"""Domain values for tests: a channel as the service holds it, with fixed instants."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from domain.model import (
    Assignment,
    AssignmentModel,
    Channel,
    ChannelState,
    ChannelStats,
    ChannelType,
    LatencyMode,
)

CREATED_AT = datetime(2026, 10, 1, 17, 0, 0, tzinfo=UTC)
NOW = datetime(2026, 10, 1, 18, 0, 0, tzinfo=UTC)
CHANNEL_ID = "3f2b9c1e-7d4a-4b8e-9c2f-1a5e6d7c8b9a"


def make_channel(**overrides: Any) -> Channel:
    """An IDLE HOST_OWNED channel that has never broadcast; `overrides` replace any field."""
    channel_id = overrides.pop("id", CHANNEL_ID)
    channel = Channel(
        id=channel_id,
        arn=f"arn:aws:ivs:us-east-1:123456789012:channel/{channel_id[:12]}",
        name="Morning Show",
        type=ChannelType.STANDARD,
        latency_mode=LatencyMode.LOW,
        assignment_model=AssignmentModel.HOST_OWNED,
        playback_url=f"https://a1b2c3d4e5f6.us-east-1.playback.live-video.net/api/video/v1/{channel_id[:12]}.m3u8",
        ingest_endpoint="a1b2c3d4e5f6.global-contribute.live-video.net",
        stream_key=f"sk_us-east-1_{channel_id.replace('-', '')}",
        state=ChannelState.IDLE,
        recording_configuration_arn="arn:aws:ivs:us-east-1:123456789012:recording-configuration/AbCdEf123456",
        current_session_id=None,
        live_since=None,
        stats=ChannelStats(),
        created_at=CREATED_AT,
        updated_at=CREATED_AT,
    )
    return dataclasses.replace(channel, **overrides)


def make_assignment(host_user_id: str, channel: Channel, **overrides: Any) -> Assignment:
    assignment = Assignment(
        host_user_id=host_user_id,
        channel_id=channel.id,
        channel_arn=channel.arn,
        playback_url=channel.playback_url,
        ingest_endpoint=channel.ingest_endpoint,
        stream_key=channel.stream_key,
        assigned_at=NOW,
        assigned_by="admin-1",
    )
    return dataclasses.replace(assignment, **overrides)
