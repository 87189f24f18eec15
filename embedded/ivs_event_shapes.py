"""IVS's EventBridge events, built in the shape EventBridge delivers them, for simulate-broadcast and
the tests that play IVS.

The shapes follow the examples of AWS's IVS User Guide ("Using Amazon EventBridge with IVS
Low-Latency Streaming"): the envelope (`detail-type`, `source: aws.ivs`, the channel ARN as the one
resource, `time` to the second as EventBridge writes it) and each detail field under IVS's own name.
tests/events/samples holds the documented events these are checked against.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

STREAM_STATE_CHANGE = "IVS Stream State Change"
RECORDING_STATE_CHANGE = "IVS Recording State Change"
RECORDING_STATUSES = ("Recording Start", "Recording End", "Recording Start Failure", "Recording End Failure")


def stream_state_event(channel_arn: str, stream_id: str, name: str, at: datetime, channel_name: str) -> dict[str, Any]:
    """An `IVS Stream State Change` event (`name`: "Stream Start", "Stream End", "Session Created", ...)."""
    return _envelope(STREAM_STATE_CHANGE, f"simulated-{stream_id}-{_slug(name)}", channel_arn, at,
                     {"event_name": name, "channel_name": channel_name, "stream_id": stream_id})


def recording_state_event(
    channel_arn: str,
    channel_name: str,
    stream_id: str,
    status: str,
    at: datetime,
    *,
    bucket: str,
    key_prefix: str,
    recording_session_id: str,
    recording_session_stream_ids: Sequence[str],
    duration_ms: int | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """An `IVS Recording State Change` event. `status` is one of RECORDING_STATUSES; `reason` is the
    failure's reason (IVS sends "" otherwise); `duration_ms` is 0 unless given, as in IVS's Start and
    failure events; `recording_session_stream_ids` lists every stream IVS merged into the recording
    (reconnects within the recording configuration's reconnect window), this one included."""
    if status not in RECORDING_STATUSES:
        raise ValueError(f"'{status}' is not an IVS recording status; IVS sends one of {', '.join(RECORDING_STATUSES)}")
    return _envelope(RECORDING_STATE_CHANGE, f"simulated-{recording_session_id}-{stream_id}-{_slug(status)}",
                     channel_arn, at, {
                         "channel_name": channel_name,
                         "stream_id": stream_id,
                         "recording_status": status,
                         "recording_status_reason": reason or "",
                         "recording_s3_bucket_name": bucket,
                         "recording_s3_key_prefix": key_prefix,
                         "recording_duration_ms": duration_ms or 0,
                         "recording_session_id": recording_session_id,
                         "recording_session_stream_ids": list(recording_session_stream_ids),
                     })


def recording_key_prefix(channel_arn: str, started_at: datetime, recording_session_id: str) -> str:
    """Where IVS writes a recording in its bucket:
    `ivs/v1/<account>/<channel id>/<year>/<month>/<day>/<hour>/<minute>/<recording id>` (unpadded)."""
    account, channel_id = channel_arn.split(":")[4], channel_arn.rsplit("/", 1)[-1]
    at = started_at.astimezone(UTC)
    return f"ivs/v1/{account}/{channel_id}/{at.year}/{at.month}/{at.day}/{at.hour}/{at.minute}/{recording_session_id}"


def _envelope(detail_type: str, event_id: str, channel_arn: str, at: datetime, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": "aws.ivs",
        "account": channel_arn.split(":")[4],
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": channel_arn.split(":")[3],
        "resources": [channel_arn],
        "detail": detail,
    }


def _slug(name: str) -> str:
    return name.replace(" ", "-").lower()
