"""Channel and assignment records ⇄ domain values.

Reads accept the older Node functions' records exactly as they are (CONTRACT.md section 1): what
they lack takes its default. Writes keep every attribute of the seed's shapes, with the same name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.clock import format_timestamp, parse_timestamp
from domain.model import (
    Assignment,
    AssignmentModel,
    Channel,
    ChannelState,
    ChannelStats,
    ChannelType,
    LatencyMode,
    Recording,
)
from data.table import (
    ASSIGNMENT_ENTITY,
    CATALOG_ATTRIBUTE,
    CHANNEL_ENTITY,
    STATE_KEY_ATTRIBUTE,
    assignment_key,
    channel_key,
)

Item = dict[str, Any]

# Where an encrypted stream key is kept; older records hold a plain-text `streamKey`.
SEALED_STREAM_KEY = "encryptedStreamKey"
# The latest recording IVS reported (a map).
LAST_RECORDING = "lastRecording"

# The service's additions for live streams (CONTRACT.md section 7).
CURRENT_SESSION_KEY = "currentSessionKey"
# Broadcast truth (docs/broadcasts.md): the IVS stream attached to the open session, and whether a
# caller gave the open session's id.
CURRENT_STREAM_ID = "currentStreamId"
CURRENT_SESSION_NAMED = "currentSessionNamed"
STREAM_LAST_SEEN = "streamLastSeenAt"
STREAM_MISSED_ONCE = "streamMissedOnce"
KEY_CHANGE = "streamKeyChange"  # the key-change lease (data.stream_key_records)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _enum(kind: type, value: object, default: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        return default


def _number(value: object) -> float:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return float(value)
    return 0.0


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def channel_from_item(item: Mapping[str, Any]) -> Channel:
    """A channel from its record, whichever functions wrote it."""
    created_at = parse_timestamp(item.get("createdAt"))
    updated_at = parse_timestamp(item.get("updatedAt"))
    hosts = item.get("assignedHostIds") or set()
    return Channel(
        id=str(item["channelId"]),
        arn=str(item.get("channelArn", "")),
        name=str(item.get("channelName", "")),
        type=_enum(ChannelType, item.get("type"), ChannelType.STANDARD),
        latency_mode=_enum(LatencyMode, item.get("latencyMode"), LatencyMode.LOW),
        assignment_model=_enum(AssignmentModel, item.get("assignmentModel"), AssignmentModel.HOST_OWNED),
        playback_url=str(item.get("playbackUrl", "")),
        ingest_endpoint=str(item.get("ingestEndpoint", "")),
        stream_key=_text(item.get("streamKey")),
        state=_enum(ChannelState, item.get("state"), ChannelState.IDLE),
        recording_configuration_arn=_text(item.get("recordingConfigurationArn")),
        current_session_id=_text(item.get("currentSessionId")),
        live_since=parse_timestamp(item.get("liveSince")),
        stats=ChannelStats(
            total_broadcasts=int(_number(item.get("totalBroadcasts"))),
            total_streaming_minutes=_number(item.get("totalStreamingMinutes")),
            last_broadcast_at=parse_timestamp(item.get("lastBroadcastAt")),
        ),
        created_at=created_at or updated_at or _EPOCH,
        updated_at=updated_at or created_at or _EPOCH,
        assigned_host_ids=frozenset(str(host) for host in hosts),
        sealed_stream_key=_text(item.get(SEALED_STREAM_KEY)),
        last_recording=recording_from_attribute(item.get(LAST_RECORDING)),
        current_session_key=_text(item.get(CURRENT_SESSION_KEY)),
        current_stream_id=_text(item.get(CURRENT_STREAM_ID)),
        current_session_named=item.get(CURRENT_SESSION_NAMED) is True,
        stream_last_seen_at=parse_timestamp(item.get(STREAM_LAST_SEEN)),
        stream_missed_once=item.get(STREAM_MISSED_ONCE) is True,
        key_change_started_at=parse_timestamp((item.get(KEY_CHANGE) or {}).get("startedAt")),
    )


def recording_from_attribute(value: object) -> Recording | None:
    if not isinstance(value, Mapping):
        return None
    at = parse_timestamp(value.get("at"))
    bucket, prefix = _text(value.get("s3BucketName")), _text(value.get("s3KeyPrefix"))
    if at is None or bucket is None or prefix is None:
        return None
    duration = value.get("durationMs")
    return Recording(
        status=str(value.get("status", "")),
        s3_bucket_name=bucket,
        s3_key_prefix=prefix,
        duration_ms=int(duration) if isinstance(duration, (int, Decimal)) else None,
        at=at,
        recording_session_id=_text(value.get("recordingSessionId")),
    )


def recording_attribute(recording: Recording) -> Item:
    attribute: Item = {
        "status": recording.status,
        "s3BucketName": recording.s3_bucket_name,
        "s3KeyPrefix": recording.s3_key_prefix,
        "durationMs": recording.duration_ms,
        "at": format_timestamp(recording.at),
    }
    if recording.recording_session_id is not None:
        attribute["recordingSessionId"] = recording.recording_session_id
    return attribute


def new_channel_item(channel: Channel) -> Item:
    """The record of a channel this service creates: the seed's attributes plus the service's own."""
    item: Item = {
        **channel_key(channel.id),
        "entityType": CHANNEL_ENTITY,
        "channelId": channel.id,
        "channelArn": channel.arn,
        "channelName": channel.name,
        "playbackUrl": channel.playback_url,
        "ingestEndpoint": channel.ingest_endpoint,
        "state": channel.state.value,
        "totalBroadcasts": channel.stats.total_broadcasts,
        "totalStreamingMinutes": Decimal(str(channel.stats.total_streaming_minutes)),
        "createdAt": format_timestamp(channel.created_at),
        "updatedAt": format_timestamp(channel.updated_at),
        # The service's additions
        "type": channel.type.value,
        "latencyMode": channel.latency_mode.value,
        "assignmentModel": channel.assignment_model.value,
        CATALOG_ATTRIBUTE: CHANNEL_ENTITY,
        STATE_KEY_ATTRIBUTE: channel.state.value,
    }
    # The seed's attributes are always written, as NULL when empty (as the older functions wrote
    # them); with encryption on, `streamKey` is NULL and the sealed key is beside it.
    item.update(
        {
            "streamKey": None if channel.sealed_stream_key else channel.stream_key,
            "recordingConfigurationArn": channel.recording_configuration_arn,
            "currentSessionId": channel.current_session_id,
            "lastBroadcastAt": channel.stats.last_broadcast_at and format_timestamp(channel.stats.last_broadcast_at),
        }
    )
    if channel.sealed_stream_key is not None:
        item[SEALED_STREAM_KEY] = channel.sealed_stream_key
    return item


def assignment_from_item(item: Mapping[str, Any]) -> Assignment:
    return Assignment(
        host_user_id=str(item["hostUserId"]),
        channel_id=str(item["channelId"]),
        channel_arn=str(item.get("channelArn", "")),
        playback_url=str(item.get("playbackUrl", "")),
        ingest_endpoint=str(item.get("ingestEndpoint", "")),
        stream_key=_text(item.get("streamKey")),
        assigned_at=parse_timestamp(item.get("assignedAt")) or _EPOCH,
        assigned_by=_text(item.get("assignedBy")),
        sealed_stream_key=_text(item.get(SEALED_STREAM_KEY)),
    )


def assignment_item(assignment: Assignment) -> Item:
    item: Item = {
        **assignment_key(assignment.host_user_id),
        "entityType": ASSIGNMENT_ENTITY,
        "hostUserId": assignment.host_user_id,
        "channelId": assignment.channel_id,
        "channelArn": assignment.channel_arn,
        "playbackUrl": assignment.playback_url,
        "ingestEndpoint": assignment.ingest_endpoint,
        "assignedAt": format_timestamp(assignment.assigned_at),
    }
    item["streamKey"] = None if assignment.sealed_stream_key else assignment.stream_key
    if assignment.sealed_stream_key is not None:
        item[SEALED_STREAM_KEY] = assignment.sealed_stream_key
    if assignment.assigned_by is not None:
        item["assignedBy"] = assignment.assigned_by
    return item
