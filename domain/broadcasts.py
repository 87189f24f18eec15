"""Broadcast truth (docs/broadcasts.md): every signal about a broadcast is a claim about an IVS
stream, planned here as a value and then written by storage as one conditional transaction.

IVS's stream id is the identity of a broadcast. Five actors report on it in any order, repeated
and late: callers (setChannelState with or without a sessionId), IVS's Stream Start / Stream End
events, the live-state check, and admins stopping or taking a channel off the air. The functions
below decide, from the channel record and what is known about the stream, what one signal means:

- `plan_caller_change`: setChannelState (a caller opening, naming or ending a session);
- `plan_stream_seen`: IVS reports a stream started (an event, or the check seeing it);
- `plan_past_stream`: the same for a stream IVS no longer reports live (a late start);
- `plan_stream_ended`: IVS reports a stream ended;
- `plan_stream_missed`: the check found no stream for a LIVE channel.

No I/O happens here; storage makes each plan conditional on what it was planned from, so that two
actors racing never count one broadcast twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from domain.model import Channel, ChannelState
from domain.sessions import SessionEndReason, StreamSession
from domain.state_machine import StateChange, minutes_since, plan_state_change


@dataclass(frozen=True)
class StreamReport:
    """What IVS says about one stream of a channel."""

    stream_id: str
    started_at: datetime
    # IVS reports it as a LIVE stream now (GetStream / ListStreams), not only in an event.
    live_now: bool
    # When IVS ended it, if known (a Stream End already noted).
    ended_at: datetime | None = None


@dataclass(frozen=True)
class NoChange:
    """The signal changes nothing; `reason` says why (for the log and the tests)."""

    reason: str


@dataclass(frozen=True)
class AttachStream:
    """The open session gets the stream IVS reported (the session was opened first, by a caller)."""

    expected_session_id: str
    session_key: str
    stream_id: str


@dataclass(frozen=True)
class NameSession:
    """The caller's sessionId becomes the open session's (the encoder connected first), and the host
    the caller broadcasts for, when it names one, becomes its host."""

    expected_session_id: str
    session_key: str
    session_id: str
    host_user_id: str | None = None
    # The named host's slot covering the broadcast's start (docs/schedules.md).
    slot_id: str | None = None


@dataclass(frozen=True)
class StopOffAirStream:
    """IVS streams on an OFFLINE channel (an old connection, a key not yet revoked): stop it, count nothing."""

    stream_id: str


@dataclass(frozen=True)
class LookForPastSession:
    """IVS no longer streams it: find the session that covers its start (storage), then plan_past_stream."""

    report: StreamReport


@dataclass(frozen=True)
class AttachToPastSession:
    """A late start belongs to a session that covered it and had no stream yet."""

    session_key: str
    stream_id: str


@dataclass(frozen=True)
class CountFinishedBroadcast:
    """A whole broadcast nobody saw live (its start and end both arrived late): one finished session."""

    stream_id: str
    started_at: datetime
    ended_at: datetime
    minutes: float


@dataclass(frozen=True)
class NoteMissed:
    """The check missed the stream once; a later check may end the session as LOST."""


StreamPlan = StateChange | AttachStream | StopOffAirStream | LookForPastSession | NoChange


def carries_stream(channel: Channel, stream_id: str) -> bool:
    """Whether the channel's open session is this stream's broadcast.

    Sessions IVS opened before the channel record kept `currentStreamId` used the stream id as the
    session id, so those still match."""
    if channel.state is not ChannelState.LIVE:
        return False
    if channel.current_stream_id is not None:
        return channel.current_stream_id == stream_id
    return channel.current_session_id == stream_id


def plan_caller_change(
    channel: Channel,
    target: ChannelState,
    session_id: str | None,
    now: datetime,
    *,
    host_user_id: str | None = None,
    named_host: str | None = None,
) -> StateChange | NameSession | None:
    """setChannelState: what a caller asking for `target` (with the platform's `session_id`) means.

    LIVE on a channel already LIVE is a no-op, or names the open session when the encoder connected
    first (the session has no caller's id yet; it gets the host the caller names, `named_host`, if
    any); CONFLICT only when the open session already carries another caller's id. Everything else is
    the state machine's (domain.state_machine): a session a caller opens is broadcast by
    `host_user_id`, and `named` only when the caller gave its id.
    """
    if channel.state is ChannelState.LIVE and target is ChannelState.LIVE and session_id is not None:
        if session_id == channel.current_session_id:
            return None
        if not channel.current_session_named and channel.current_session_key is not None:
            assert channel.current_session_id is not None
            return NameSession(channel.current_session_id, channel.current_session_key, session_id, named_host)
    change = plan_state_change(channel, target, session_id, now, host_user_id=host_user_id)
    if change is not None and change.enters_live:
        change = replace(change, session_named=session_id is not None)
    return change


def plan_stream_seen(
    channel: Channel, report: StreamReport, *, already_claimed: bool, host_user_id: str | None
) -> StreamPlan:
    """IVS reports `report.stream_id` started on `channel` (a Stream Start event, or the check).

    - a stream that already has its session (repeated, late after it ended, seen again): nothing;
    - on an OFFLINE channel: stop it on IVS, count nothing;
    - a stream IVS no longer streams: never opens a session (plan_past_stream decides);
    - LIVE with a session that has no stream yet (session first): the stream is attached to it;
    - LIVE with another stream: that stream's end was lost; its session ends at this start;
    - otherwise the channel goes LIVE with a session opened by IVS (counted once), broadcast by
      `host_user_id`.
    """
    if already_claimed or carries_stream(channel, report.stream_id):
        return NoChange("already applied: the stream has its session")
    if channel.state is ChannelState.OFFLINE:
        return StopOffAirStream(report.stream_id)
    if not report.live_now:
        return LookForPastSession(report)
    if channel.state is ChannelState.LIVE:
        if channel.current_stream_id is None and channel.current_session_key is not None:
            # A session a caller opened: the stream is its broadcast. (Storage refuses the attach when
            # the session record already has a stream: a session IVS opened before `currentStreamId`.)
            assert channel.current_session_id is not None
            return AttachStream(channel.current_session_id, channel.current_session_key, report.stream_id)
        # Another stream is open: IVS streams this one now, so that one ended (its end was lost).
        close = plan_state_change(channel, ChannelState.IDLE, None, report.started_at,
                                  end_reason=SessionEndReason.STREAM_ENDED)
        assert close is not None
        return close
    change = plan_state_change(channel, ChannelState.LIVE, report.stream_id, report.started_at,
                               host_user_id=host_user_id, stream_id=report.stream_id)
    assert change is not None
    return change


def plan_past_stream(
    report: StreamReport, covering: StreamSession | None, covering_key: str | None
) -> AttachToPastSession | CountFinishedBroadcast | NoChange:
    """A start for a stream IVS no longer streams (late, or seen after it ended).

    It opens nothing. If a session of the channel covers the stream's start and has no stream, the
    stream is that session's; if the stream's end is known and no session covers it, it was a whole
    broadcast nobody saw live and is counted once as a finished session; otherwise nothing (its
    Stream End, when it comes, decides). `covering` is the newest session started by the stream's
    start; it covers the start unless it had ended before.
    """
    if covering is not None and not covers(covering, report.started_at):
        covering = None
    if covering is not None and covering_key is not None:
        if covering.stream_id == report.stream_id:
            return NoChange("already applied: the stream has its session")
        if covering.stream_id is None:
            return AttachToPastSession(covering_key, report.stream_id)
    if report.ended_at is None:
        return NoChange("late start: IVS no longer streams it and its end is not known yet")
    ended = max(report.ended_at, report.started_at)
    return CountFinishedBroadcast(report.stream_id, report.started_at, ended, minutes_since(report.started_at, ended))


def covers(session: StreamSession, at: datetime) -> bool:
    """Whether a session was open at `at`."""
    return session.started_at <= at and (session.ended_at is None or at <= session.ended_at)


def plan_stream_ended(channel: Channel, stream_id: str, ended_at: datetime) -> StateChange | NoChange:
    """IVS reports `stream_id` ended: the session carrying it ends (STREAM_ENDED) at IVS's end time.
    Any other state means the end is not this channel's open broadcast (noted for a late start)."""
    if not carries_stream(channel, stream_id):
        return NoChange("noted: the channel is not LIVE with this stream")
    change = plan_state_change(channel, ChannelState.IDLE, None, ended_at, end_reason=SessionEndReason.STREAM_ENDED)
    assert change is not None
    return change


def plan_stream_missed(channel: Channel, now: datetime, lost_after_seconds: float) -> StateChange | NoteMissed | NoChange:
    """The check found no LIVE stream for a channel the table shows LIVE.

    LOST needs evidence: at least two checks that missed it (the first only notes the miss) and
    `lost_after_seconds` since IVS was last seen streaming it (or since the session opened, when it
    never was). The session then ends when IVS was last seen streaming, and its minutes agree with
    its start and end.
    """
    if channel.state is not ChannelState.LIVE:
        return NoChange("not LIVE")
    if not channel.stream_missed_once:
        return NoteMissed()
    last_seen = channel.stream_last_seen_at or channel.live_since
    if last_seen is not None and (now - last_seen).total_seconds() < lost_after_seconds:
        return NoChange("missed, but not for long enough to call it lost")
    ended = now if last_seen is None else min(max(last_seen, channel.live_since or last_seen), now)
    change = plan_state_change(channel, ChannelState.IDLE, None, now, end_reason=SessionEndReason.LOST)
    assert change is not None
    return replace(change, session_ended_at=ended, minutes_streamed=minutes_since(channel.live_since, ended))
