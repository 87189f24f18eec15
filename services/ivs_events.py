"""IVS's own events: `IVS Stream State Change` and `IVS Recording State Change` (EventBridge), each
a claim about one IVS stream (docs/broadcasts.md).

IVS delivers these at least once, late (hours, through retries and the dead-letter redrive) and out
of order. A Stream Start opens a session only while IVS still reports that stream as LIVE (one
GetStream); anything else about a stream is applied through services.broadcasts, where the stream's
claim makes every repeat change nothing. Following AWS's own UGC sample, a session ends on
`Stream End` (`Session Ended` is not always sent). Recordings attach to the sessions of the streams
they name, never by time.
"""

from __future__ import annotations

import logging
from typing import Any

from domain.broadcasts import StreamReport
from domain.ivs_events import RecordingStateEvent, StreamStateEvent, UnusableEvent, read_ivs_event
from services import broadcasts
from services.backend import ChannelsBackend

log = logging.getLogger("shelcaster.channels.ivs_events")
# A recording event whose stream has no session yet is retried while it is this young (its Stream
# Start may still be on its way); older, it is applied to the channel alone.
RETRY_UNKNOWN_STREAM_SECONDS = 60 * 60


class StreamNotYetKnown(RuntimeError):
    """A recording event arrived before its stream's session: retried (IVS sends them close together)."""


def apply_ivs_event(backend: ChannelsBackend, event: dict[str, Any]) -> str:
    """Apply one EventBridge event; returns what happened (for the log and the tests).

    An event that can never be applied answers "refused: ..." with its reason (retrying it would
    change nothing); an AWS failure raises, so that the events function's invocation is retried.
    """
    try:
        parsed = read_ivs_event(event, backend.clock())
    except UnusableEvent as unusable:
        return f"refused: {unusable}"
    if parsed is None:
        return "ignored: not an IVS stream or recording event the service acts on"
    channel_id = backend.state_changes.find_channel_id_by_arn(parsed.channel_arn)
    if channel_id is None:
        return f"ignored: no channel record for {parsed.channel_arn}"
    try:
        if isinstance(parsed, RecordingStateEvent):
            return _recording(backend, channel_id, parsed)
        return _stream(backend, channel_id, parsed)
    except broadcasts.ChannelGone:
        return "ignored: the channel was deleted meanwhile"


def _stream(backend: ChannelsBackend, channel_id: str, event: StreamStateEvent) -> str:
    broadcasts.note_stream_event(backend, event.stream_id, broadcasts.START if event.is_start else broadcasts.END,
                                 event.at)
    if not event.is_start:
        return broadcasts.stream_ended(backend, channel_id, event.stream_id, event.at)
    now_streaming = backend.ivs.get_stream(event.channel_arn)
    live_now = now_streaming is not None and now_streaming.stream_id == event.stream_id and now_streaming.is_live
    return broadcasts.stream_seen(backend, channel_id, StreamReport(event.stream_id, event.at, live_now=live_now))


def _recording(backend: ChannelsBackend, channel_id: str, event: RecordingStateEvent) -> str:
    """The recording goes onto the session of each stream it holds; a finished one (`Recording End`)
    also becomes the channel's lastRecording unless a later one is kept. A failure is kept as its
    session's recording status and never replaces another broadcast's recording."""
    outcomes: list[str] = []
    if event.recording.succeeded:
        kept = backend.state_changes.record_recording(channel_id, event.recording)
        outcomes.append("kept as the channel's last recording" if kept else "a later recording is already kept")
    assert backend.sessions is not None
    claims = broadcasts.stream_claims(backend)
    attached = unknown = 0
    for stream_id in event.stream_ids:
        claim = claims.get(stream_id)
        if claim is None or claim.channel_id != channel_id:
            unknown += 1
            continue
        attached += backend.sessions.attach_recording(channel_id, claim.session_key, event.recording)
    if unknown and not attached:
        age = backend.clock() - event.recording.at
        if age.total_seconds() < RETRY_UNKNOWN_STREAM_SECONDS:
            raise StreamNotYetKnown(f"no session of stream {event.stream_id} yet; the event is retried")
        outcomes.append(f"no session of stream {event.stream_id}")
    else:
        outcomes.append(f"attached to {attached} session{'s' if attached != 1 else ''}")
    return f"recording {event.recording.status}: " + "; ".join(outcomes)
