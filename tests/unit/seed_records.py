"""Records exactly as the older Node functions write them (seed/000_b1a9312f0606540d.txt).

Low-level DynamoDB JSON, as `marshall()` of @aws-sdk/util-dynamodb produces it: JavaScript `null`
becomes `{"NULL": true}`, numbers are `N` strings, timestamps are `new Date().toISOString()`.
`shelcaster-create-persistent-channel` writes the channel (IDLE, no session, no broadcast yet);
`shelcaster-update-channel-state` later sets `state`, `updatedAt` and `currentSessionId` (null when
the request gave no sessionId) and nothing else; `shelcaster-assign-channel` writes the assignment.
"""

from __future__ import annotations

from typing import Any

ACCOUNT = "123456789012"
RECORDING_ARN = f"arn:aws:ivs:us-east-1:{ACCOUNT}:recording-configuration/NgV3p8AlWTTF"

# Every attribute name of the seed's two record shapes.
SEED_CHANNEL_ATTRIBUTES = frozenset(
    {
        "pk", "sk", "entityType", "channelId", "channelArn", "channelName", "playbackUrl", "ingestEndpoint",
        "streamKey", "state", "recordingConfigurationArn", "currentSessionId", "totalBroadcasts",
        "totalStreamingMinutes", "lastBroadcastAt", "createdAt", "updatedAt",
    }
)
SEED_ASSIGNMENT_ATTRIBUTES = frozenset(
    {
        "pk", "sk", "entityType", "hostUserId", "channelId", "channelArn", "playbackUrl", "ingestEndpoint",
        "streamKey", "assignedAt", "assignedBy",
    }
)

NULL: dict[str, Any] = {"NULL": True}


def _text_or_null(value: str | None) -> dict[str, Any]:
    return {"S": value} if value is not None else NULL


def seed_channel(
    channel_id: str,
    *,
    created_at: str = "2026-01-05T09:30:00.000Z",
    updated_at: str | None = None,
    state: str = "IDLE",
    session_id: str | None = None,
    recording: bool = True,
    total_broadcasts: str = "0",
    total_streaming_minutes: str = "0",
    last_broadcast_at: str | None = None,
    name: str = "Morning Show",
) -> dict[str, Any]:
    """A channel record in the seed's shape, attribute for attribute."""
    arn_id = channel_id.replace("-", "")[:12]
    return {
        "pk": {"S": f"channel#{channel_id}"},
        "sk": {"S": "info"},
        "entityType": {"S": "persistentChannel"},
        "channelId": {"S": channel_id},
        "channelArn": {"S": f"arn:aws:ivs:us-east-1:{ACCOUNT}:channel/{arn_id}"},
        "channelName": {"S": name},
        "playbackUrl": {
            "S": "https://a1b2c3d4e5f6.us-east-1.playback.live-video.net/api/video/v1/"
            f"us-east-1.{ACCOUNT}.channel.{arn_id}.m3u8"
        },
        "ingestEndpoint": {"S": "a1b2c3d4e5f6.global-contribute.live-video.net"},
        "streamKey": {"S": f"sk_us-east-1_{arn_id}SecretStreamKey"},
        "state": {"S": state},
        "recordingConfigurationArn": _text_or_null(RECORDING_ARN if recording else None),
        "currentSessionId": _text_or_null(session_id),
        "createdAt": {"S": created_at},
        "updatedAt": {"S": updated_at or created_at},
        "totalBroadcasts": {"N": total_broadcasts},
        "totalStreamingMinutes": {"N": total_streaming_minutes},
        "lastBroadcastAt": _text_or_null(last_broadcast_at),
    }


def seed_assignment(host_user_id: str, channel: dict[str, Any], *, assigned_at: str = "2026-01-06T10:00:00.000Z",
                    assigned_by: str = "admin-sub-1") -> dict[str, Any]:
    """An assignment record in the seed's shape, denormalising the channel as the Node function does."""
    return {
        "pk": {"S": f"host#{host_user_id}"},
        "sk": {"S": "channel#assignment"},
        "entityType": {"S": "channelAssignment"},
        "hostUserId": {"S": host_user_id},
        "channelId": channel["channelId"],
        "channelArn": channel["channelArn"],
        "playbackUrl": channel["playbackUrl"],
        "ingestEndpoint": channel["ingestEndpoint"],
        "streamKey": channel["streamKey"],
        "assignedAt": {"S": assigned_at},
        "assignedBy": {"S": assigned_by},
    }
