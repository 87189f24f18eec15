"""Applying what IVS reports about a stream (docs/broadcasts.md): a Stream Start or End event, or the
live-state check seeing a stream. Each report is planned by domain.broadcasts from the channel record
and the stream's claim, then written as one conditional transaction; a write that finds the channel
changed since it was read plans again from what the other actor did.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from domain.broadcasts import (
    AttachStream,
    AttachToPastSession,
    CountFinishedBroadcast,
    LookForPastSession,
    NoChange,
    StopOffAirStream,
    StreamReport,
    plan_past_stream,
    plan_stream_ended,
    plan_stream_seen,
)
from domain.clock import format_timestamp, parse_timestamp
from domain.model import AssignmentModel, Channel, ChannelState
from domain.sessions import SessionEndReason, only_host
from domain.slots import Attribution, attribute_start
from domain.state_machine import StateChange, plan_state_change
from data.state_changes import EventAlreadyApplied, StaleChannel, StreamEventMarker
from data.stream_claims import SessionChanged, StreamAlreadyClaimed, StreamClaims
from services.backend import ChannelsBackend

log = logging.getLogger("shelcaster.channels.broadcasts")

ATTEMPTS = 6
START, END = "Stream Start", "Stream End"


class ChannelGone(LookupError):
    """The channel was deleted while a report about its stream was applied."""


def _read(backend: ChannelsBackend, channel_id: str) -> Channel:
    channel = backend.channels.get_channel(channel_id)
    if channel is None:
        raise ChannelGone(f"channel {channel_id} disappeared while its IVS stream was applied")
    return channel


def stream_claims(backend: ChannelsBackend) -> StreamClaims:
    return backend.stream_claims


def note_stream_event(backend: ChannelsBackend, stream_id: str, event_name: str, at: datetime) -> None:
    """Remember that IVS reported `event_name` for the stream at `at` (for a report of the other end
    that arrives later); a repeated event is already noted."""
    try:
        backend.state_changes.mark_stream_event(StreamEventMarker(stream_id, event_name, format_timestamp(at)),
                                             backend.clock())
    except EventAlreadyApplied:
        pass


def _noted(backend: ChannelsBackend, stream_id: str, event_name: str) -> datetime | None:
    marker = backend.state_changes.get_stream_event(stream_id, event_name)
    return parse_timestamp(marker.at) if marker is not None else None


def stream_seen(backend: ChannelsBackend, channel_id: str, report: StreamReport) -> str:
    """IVS reports `report.stream_id` started on the channel; returns what happened."""
    for _ in range(ATTEMPTS):
        channel = _read(backend, channel_id)
        claimed = stream_claims(backend).get(report.stream_id) is not None
        plan = plan_stream_seen(channel, report, already_claimed=claimed, host_user_id=only_host(channel))
        if isinstance(plan, StateChange) and plan.enters_live:
            plan = dataclasses.replace(plan, **start_attribution(backend, channel, report.started_at)._asdict())
        if isinstance(plan, NoChange):
            return plan.reason
        if isinstance(plan, StopOffAirStream):
            backend.ivs.stop_stream(channel.arn)
            backend.live_streams.forget()
            log.warning("IVS stream %s on OFFLINE channel %s stopped", report.stream_id, channel_id)
            return "stopped: the channel is OFFLINE"
        if isinstance(plan, LookForPastSession):
            return _past_stream(backend, channel, plan.report)
        if isinstance(plan, AttachStream):
            try:
                stream_claims(backend).attach_stream(channel_id, plan.expected_session_id, plan.session_key,
                                               plan.stream_id, backend.clock())
            except StreamAlreadyClaimed:
                return "already applied: the stream has its session"
            except SessionChanged:
                _end_if_session_had_another_stream(backend, channel_id, plan, report.started_at)
                continue
            return "attached to the open session"
        try:
            backend.state_changes.apply_state_change(channel_id, plan)
        except StreamAlreadyClaimed:
            return "already applied: the stream has its session"
        except StaleChannel:
            continue
        if plan.enters_live:
            return "went LIVE"
        # The older stream's session ended at this start (its end was lost): now plan this one.
    raise RuntimeError(f"channel {channel_id} kept changing while IVS stream {report.stream_id} started")


def start_attribution(backend: ChannelsBackend, channel: Channel, at: datetime) -> Attribution:
    """Whom a broadcast IVS reported starting at `at` belongs to: the channel's only host, and on a
    SHARED channel the slot covering the start (whose host it is when the channel has several)."""
    host = only_host(channel)
    if channel.assignment_model is not AssignmentModel.SHARED:
        return Attribution(None, host)
    grace = backend.slot_grace
    return attribute_start(backend.slots.around(channel.id, at, grace), at, grace, host)


def _end_if_session_had_another_stream(backend: ChannelsBackend, channel_id: str, plan: AttachStream,
                                       at: datetime) -> None:
    """The open session refused the stream. If the channel is still on that session, its record has a
    stream of its own (a session IVS opened before channels kept `currentStreamId`, or a late start
    attached to it): that broadcast ended when this stream started."""
    channel = _read(backend, channel_id)
    if channel.state is not ChannelState.LIVE or channel.current_session_id != plan.expected_session_id:
        return
    close = plan_state_change(channel, ChannelState.IDLE, None, max(at, channel.live_since or at),
                              end_reason=SessionEndReason.STREAM_ENDED)
    assert close is not None
    try:
        backend.state_changes.apply_state_change(channel_id, close)
    except StaleChannel:
        pass


def _past_stream(backend: ChannelsBackend, channel: Channel, report: StreamReport) -> str:
    """A start for a stream IVS no longer streams: it opens nothing (plan_past_stream)."""
    if report.ended_at is None:
        report = dataclasses.replace(report, ended_at=_noted(backend, report.stream_id, END))
    assert backend.sessions is not None
    found = backend.sessions.latest_started_by(channel.id, report.started_at)
    plan = plan_past_stream(report, *(found or (None, None)))
    if isinstance(plan, NoChange):
        return plan.reason
    try:
        if isinstance(plan, AttachToPastSession):
            if plan.session_key == channel.current_session_key and channel.current_stream_id is None:
                assert channel.current_session_id is not None
                stream_claims(backend).attach_stream(channel.id, channel.current_session_id, plan.session_key,
                                               plan.stream_id, backend.clock())
                if report.ended_at is not None:
                    return "attached to the open session; " + stream_ended(backend, channel.id, report.stream_id,
                                                                             report.ended_at)
                return "attached to the open session"
            stream_claims(backend).attach_to_past_session(channel.id, plan.session_key, plan.stream_id, backend.clock())
            return "attached to the session that covered its start"
        return _count_finished(backend, channel, plan)
    except StreamAlreadyClaimed:
        return "already applied: the stream has its session"
    except SessionChanged:
        return "late start: the session that covered it changed meanwhile; nothing counted"


def _count_finished(backend: ChannelsBackend, channel: Channel, plan: CountFinishedBroadcast) -> str:
    attribution = start_attribution(backend, channel, plan.started_at)
    backend.state_changes.add_finished_broadcast(channel.id, plan.stream_id, plan.started_at, plan.ended_at,
                                              plan.minutes, backend.clock(), host_user_id=attribution.host_user_id,
                                              slot_id=attribution.slot_id)
    return f"counted a finished broadcast of {plan.minutes} minutes (reported late)"


def stream_ended(backend: ChannelsBackend, channel_id: str, stream_id: str, ended_at: datetime) -> str:
    """IVS reports `stream_id` ended at `ended_at`; returns what happened."""
    for _ in range(ATTEMPTS):
        channel = _read(backend, channel_id)
        plan = plan_stream_ended(channel, stream_id, ended_at)
        if isinstance(plan, NoChange):
            started = _noted(backend, stream_id, START)
            if started is not None and stream_claims(backend).get(stream_id) is None:
                # Its start came first and opened nothing (late): now the whole broadcast is known.
                return _past_stream(backend, channel, StreamReport(stream_id, started, live_now=False,
                                                                   ended_at=ended_at))
            return plan.reason
        try:
            backend.state_changes.apply_state_change(channel_id, _not_before_start(plan, channel))
        except StaleChannel:
            continue
        return "went IDLE"
    raise RuntimeError(f"channel {channel_id} kept changing while IVS stream {stream_id} ended")


def _not_before_start(change: StateChange, channel: Channel) -> StateChange:
    """An end time before the session's start (clocks of different actors) ends it at its start."""
    if channel.live_since is not None and change.at < channel.live_since:
        return dataclasses.replace(change, at=channel.live_since, minutes_streamed=0.0)
    return change
