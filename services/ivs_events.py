"""IVS's own events drive channel state: `IVS Stream State Change` and `IVS Recording State Change`
(EventBridge), applied with the same transitions and statistics as setChannelState.

IVS delivers these best-effort: an event may be missing, hours late, duplicated or out of order.
So every event is keyed by stream id + event name (a duplicate changes nothing), timestamps are the
event's own, an end that arrives before its start still counts the broadcast once, and a start for a
new stream while an older one is still LIVE first closes the older one (its end was lost).
Following AWS's own UGC sample, a session ends on `Stream End` (`Session Ended` is not always sent).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.clock import format_timestamp, parse_timestamp
from domain.model import Channel, ChannelState, Recording
from domain.sessions import SessionEndReason, only_host
from domain.state_machine import StateChange, minutes_since, plan_state_change
from data.repository import EventAlreadyApplied, StaleChannel, StreamEventMarker
from services.backend import ChannelsBackend

log = logging.getLogger("shelcaster.channels.ivs_events")

STREAM_STATE_CHANGE = "IVS Stream State Change"
RECORDING_STATE_CHANGE = "IVS Recording State Change"
STARTS = frozenset({"Stream Start"})
ENDS = frozenset({"Stream End", "Session Ended"})
ATTEMPTS = 5


@dataclass(frozen=True)
class StreamStateEvent:
    channel_arn: str
    stream_id: str
    event_name: str
    at: datetime


@dataclass(frozen=True)
class RecordingStateEvent:
    channel_arn: str
    recording: Recording


def parse_event(event: dict[str, Any]) -> StreamStateEvent | RecordingStateEvent | None:
    """The event, if it is one the service acts on; None for anything else."""
    detail = event.get("detail")
    resources = event.get("resources")
    at = parse_timestamp(event.get("time"))
    if not isinstance(detail, dict) or not isinstance(resources, list) or not resources or at is None:
        return None
    channel_arn = str(resources[0])
    if event.get("detail-type") == STREAM_STATE_CHANGE:
        name, stream_id = detail.get("event_name"), detail.get("stream_id")
        if name in STARTS | ENDS and isinstance(stream_id, str) and stream_id:
            return StreamStateEvent(channel_arn, stream_id, str(name), at)
        return None
    if event.get("detail-type") == RECORDING_STATE_CHANGE:
        bucket, prefix = detail.get("recording_s3_bucket_name"), detail.get("recording_s3_key_prefix")
        if not isinstance(bucket, str) or not isinstance(prefix, str):
            return None
        duration = detail.get("recording_duration_ms")
        return RecordingStateEvent(
            channel_arn,
            Recording(
                status=str(detail.get("recording_status", "")),
                s3_bucket_name=bucket,
                s3_key_prefix=prefix,
                duration_ms=int(duration) if isinstance(duration, (int, float)) else None,
                at=at,
            ),
        )
    return None


def apply_ivs_event(backend: ChannelsBackend, event: dict[str, Any]) -> str:
    """Apply one EventBridge event; returns what happened (for the log and the tests)."""
    parsed = parse_event(event)
    if parsed is None:
        return "ignored: not an IVS stream or recording event the service acts on"
    channel_id = backend.repository.find_channel_id_by_arn(parsed.channel_arn)
    if channel_id is None:
        return f"ignored: no channel record for {parsed.channel_arn}"
    if isinstance(parsed, RecordingStateEvent):
        kept = backend.repository.record_recording(channel_id, parsed.recording)
        # The recording of a broadcast belongs to its session too (when the broadcast has one).
        attached = backend.sessions.attach_recording(channel_id, parsed.recording) if backend.sessions else False
        if not kept:
            return "ignored: a newer recording is already noted"
        return "recording noted" + (" on its session" if attached else "")
    try:
        if parsed.event_name in STARTS:
            return _stream_started(backend, channel_id, parsed)
        return _stream_ended(backend, channel_id, parsed)
    except EventAlreadyApplied:
        return "duplicate: already applied"


def _marker(event: StreamStateEvent) -> StreamEventMarker:
    return StreamEventMarker(event.stream_id, event.event_name, format_timestamp(event.at))


def _read(backend: ChannelsBackend, channel_id: str) -> Channel:
    channel = backend.repository.get_channel(channel_id)
    if channel is None:
        raise LookupError(f"channel {channel_id} disappeared while its IVS event was applied")
    return channel


def _stream_started(backend: ChannelsBackend, channel_id: str, event: StreamStateEvent) -> str:
    repository = backend.repository
    if repository.get_stream_event(event.stream_id, "Stream Start") is not None:
        return "duplicate: already applied"
    ended = _end_of(backend, event.stream_id)
    if ended is not None:
        # The end arrived first: count the whole broadcast, leave the state as it is.
        minutes = minutes_since(event.at, ended)
        repository.add_completed_broadcast(channel_id, event.at, minutes, _marker(event), backend.clock(),
                                           ended=ended, host_user_id=only_host(_read(backend, channel_id)))
        return f"counted a finished broadcast of {minutes} minutes (its end arrived first)"
    for _ in range(ATTEMPTS):
        channel = _read(backend, channel_id)
        if channel.state is ChannelState.OFFLINE:
            repository.mark_stream_event(_marker(event), backend.clock())
            log.warning("IVS stream %s started on OFFLINE channel %s; state left OFFLINE", event.stream_id, channel_id)
            return "ignored: the channel is OFFLINE"
        if channel.state is ChannelState.LIVE and channel.current_session_id == event.stream_id:
            repository.mark_stream_event(_marker(event), backend.clock())
            return "already LIVE with this stream"
        try:
            if channel.state is ChannelState.LIVE:
                # A newer stream started: the older one's end was lost. Close it at this start.
                close = plan_state_change(channel, ChannelState.IDLE, None, event.at,
                                          end_reason=SessionEndReason.STREAM_ENDED)
                assert close is not None
                repository.apply_state_change(channel_id, close)
                continue
            change = plan_state_change(channel, ChannelState.LIVE, event.stream_id, event.at,
                                       host_user_id=only_host(channel), stream_id=event.stream_id)
            assert change is not None
            repository.apply_state_change(channel_id, change, _marker(event))
            return "went LIVE"
        except StaleChannel:
            continue
    raise RuntimeError(f"channel {channel_id} kept changing while IVS stream {event.stream_id} started")


def _stream_ended(backend: ChannelsBackend, channel_id: str, event: StreamStateEvent) -> str:
    repository = backend.repository
    for _ in range(ATTEMPTS):
        channel = _read(backend, channel_id)
        if channel.state is not ChannelState.LIVE or channel.current_session_id != event.stream_id:
            # Not this stream's broadcast (any more): remember the end, for a start that arrives late.
            repository.mark_stream_event(_marker(event), backend.clock())
            return "noted: the channel is not LIVE with this stream"
        change: StateChange | None = plan_state_change(channel, ChannelState.IDLE, None, event.at,
                                                       end_reason=SessionEndReason.STREAM_ENDED)
        assert change is not None
        try:
            repository.apply_state_change(channel_id, change, _marker(event))
            return "went IDLE"
        except StaleChannel:
            continue
    raise RuntimeError(f"channel {channel_id} kept changing while IVS stream {event.stream_id} ended")


def _end_of(backend: ChannelsBackend, stream_id: str) -> datetime | None:
    for name in sorted(ENDS):
        marker = backend.repository.get_stream_event(stream_id, name)
        if marker is not None:
            return parse_timestamp(marker.at)
    return None
