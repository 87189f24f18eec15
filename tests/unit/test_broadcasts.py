"""The broadcast planner (domain.broadcasts): what each signal about a stream means, for every state a
channel's record can be in. Pure: no storage, no IVS."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from domain.broadcasts import (
    AttachStream,
    AttachToPastSession,
    CountFinishedBroadcast,
    LookForPastSession,
    NameSession,
    NoChange,
    NoteMissed,
    StopOffAirStream,
    StreamReport,
    carries_stream,
    covers,
    plan_caller_change,
    plan_past_stream,
    plan_stream_ended,
    plan_stream_missed,
    plan_stream_seen,
)
from domain.errors import Conflict
from domain.model import Channel, ChannelState
from domain.sessions import SessionEndReason, StreamSession
from domain.state_machine import StateChange
from tests.unit.builders import NOW, make_channel

IDLE, LIVE, OFFLINE = ChannelState.IDLE, ChannelState.LIVE, ChannelState.OFFLINE
STARTED = NOW - timedelta(minutes=30)


def live(session_id: str = "s-1", *, stream_id: str | None = None, named: bool = False,
         last_seen: datetime | None = None, missed: bool = False) -> Channel:
    return make_channel(state=LIVE, current_session_id=session_id, current_session_key=f"session#{STARTED}#{session_id}",
                        current_stream_id=stream_id, current_session_named=named, live_since=STARTED,
                        stream_last_seen_at=last_seen, stream_missed_once=missed)


def seen(stream_id: str = "st-1", *, live_now: bool = True, ended_at: datetime | None = None) -> StreamReport:
    return StreamReport(stream_id, NOW, live_now=live_now, ended_at=ended_at)


def session(stream_id: str | None, *, ended_at: datetime | None = None, started_at: datetime = STARTED) -> StreamSession:
    return StreamSession("c-1", "s-1", stream_id, started_at, ended_at, None, None, None)


# plan_stream_seen: every channel state x claimed x live_now x which stream the open session carries

CHANNELS = {
    "idle": make_channel(),
    "offline": make_channel(state=OFFLINE),
    "live, caller's session without a stream": live(),
    "live, caller's session with this stream": live(stream_id="st-1"),
    "live, another stream": live("st-0", stream_id="st-0"),
    "live, an older IVS session of this stream": live("st-1"),
}


@pytest.mark.parametrize(("name", "claimed", "live_now"),
                         list(itertools.product(CHANNELS, [True, False], [True, False])))
def test_a_stream_report_has_one_meaning_in_every_state(name: str, claimed: bool, live_now: bool) -> None:
    channel = CHANNELS[name]
    plan = plan_stream_seen(channel, seen(live_now=live_now), already_claimed=claimed, host_user_id="h-1")

    if claimed or name in ("live, caller's session with this stream", "live, an older IVS session of this stream"):
        assert plan == NoChange("already applied: the stream has its session")
    elif name == "offline":
        assert plan == StopOffAirStream("st-1")
    elif not live_now:
        assert plan == LookForPastSession(seen(live_now=False))
    elif name == "live, caller's session without a stream":
        assert plan == AttachStream("s-1", channel.current_session_key or "", "st-1")
    elif name == "live, another stream":
        assert isinstance(plan, StateChange) and plan.leaves_live and not plan.enters_live
        assert (plan.end_reason, plan.at, plan.minutes_streamed) == (SessionEndReason.STREAM_ENDED, NOW, 30.0)
    else:
        assert isinstance(plan, StateChange) and plan.enters_live
        assert (plan.session_id, plan.stream_id, plan.host_user_id, plan.at, plan.session_named) == (
            "st-1", "st-1", "h-1", NOW, False)


def test_a_report_never_opens_a_session_unless_ivs_streams_it_now() -> None:
    for channel, claimed in itertools.product(CHANNELS.values(), [True, False]):
        plan = plan_stream_seen(channel, seen(live_now=False), already_claimed=claimed, host_user_id=None)
        assert not (isinstance(plan, StateChange) and plan.enters_live)


# plan_past_stream


def test_a_late_start_attaches_to_the_session_that_covered_it_without_a_stream() -> None:
    assert plan_past_stream(seen(live_now=False), session(None), "sk-1") == AttachToPastSession("sk-1", "st-1")


def test_a_late_start_of_a_stream_its_session_already_has_changes_nothing() -> None:
    assert plan_past_stream(seen(live_now=False), session("st-1"), "sk-1") == NoChange(
        "already applied: the stream has its session")


def test_a_late_start_with_its_end_known_and_no_free_session_is_one_finished_broadcast() -> None:
    ended = NOW + timedelta(minutes=45)
    for covering, key in [(None, None), (session("st-0"), "sk-0")]:
        assert plan_past_stream(seen(live_now=False, ended_at=ended), covering, key) == CountFinishedBroadcast(
            "st-1", NOW, ended, 45.0)


def test_a_late_start_without_its_end_waits_for_it() -> None:
    assert isinstance(plan_past_stream(seen(live_now=False), None, None), NoChange)


def test_an_end_before_its_start_counts_no_negative_minutes() -> None:
    plan = plan_past_stream(seen(live_now=False, ended_at=NOW - timedelta(minutes=5)), None, None)
    assert plan == CountFinishedBroadcast("st-1", NOW, NOW, 0.0)


def test_a_session_covers_what_happened_between_its_start_and_end() -> None:
    closed = session(None, ended_at=NOW)
    assert covers(closed, STARTED) and covers(closed, NOW) and not covers(closed, NOW + timedelta(seconds=1))
    assert not covers(closed, STARTED - timedelta(seconds=1))
    assert covers(session(None), NOW + timedelta(days=1))


# plan_stream_ended


@pytest.mark.parametrize("name", CHANNELS)
def test_an_end_closes_only_the_session_of_its_stream(name: str) -> None:
    channel = CHANNELS[name]
    plan = plan_stream_ended(channel, "st-1", NOW)
    if carries_stream(channel, "st-1"):
        assert isinstance(plan, StateChange) and plan.leaves_live
        assert (plan.end_reason, plan.minutes_streamed, plan.new_state) == (SessionEndReason.STREAM_ENDED, 30.0, IDLE)
    else:
        assert plan == NoChange("noted: the channel is not LIVE with this stream")


# plan_stream_missed


def test_a_first_miss_is_only_noted() -> None:
    assert plan_stream_missed(live(last_seen=NOW), NOW, 90) == NoteMissed()


def test_a_second_miss_soon_after_the_stream_was_seen_waits() -> None:
    channel = live(last_seen=NOW - timedelta(seconds=30), missed=True)
    assert isinstance(plan_stream_missed(channel, NOW, 90), NoChange)


def test_lost_needs_the_configured_absence_and_ends_when_ivs_last_saw_the_stream() -> None:
    last_seen = NOW - timedelta(minutes=5)
    plan = plan_stream_missed(live(last_seen=last_seen, missed=True), NOW, 90)
    assert isinstance(plan, StateChange) and plan.leaves_live
    assert (plan.end_reason, plan.session_ended_at, plan.minutes_streamed) == (SessionEndReason.LOST, last_seen, 25.0)


def test_a_session_never_seen_streaming_is_lost_counted_from_its_start() -> None:
    plan = plan_stream_missed(live(missed=True), NOW, 90)
    assert isinstance(plan, StateChange)
    assert (plan.session_ended_at, plan.minutes_streamed) == (STARTED, 0.0)


def test_a_channel_that_is_not_live_is_never_lost() -> None:
    assert isinstance(plan_stream_missed(make_channel(), NOW, 90), NoChange)


# plan_caller_change


def test_encoder_first_the_callers_session_id_names_the_open_session() -> None:
    channel = live("st-1", stream_id="st-1")
    assert plan_caller_change(channel, LIVE, "platform-1", NOW) == NameSession(
        "st-1", channel.current_session_key or "", "platform-1")


def test_a_session_named_by_one_caller_is_conflict_for_another_id() -> None:
    with pytest.raises(Conflict):
        plan_caller_change(live("platform-1", stream_id="st-1", named=True), LIVE, "platform-2", NOW)


def test_live_again_with_the_same_session_or_none_is_a_no_op() -> None:
    channel = live("platform-1", named=True)
    assert plan_caller_change(channel, LIVE, "platform-1", NOW) is None
    assert plan_caller_change(channel, LIVE, None, NOW) is None


def test_a_session_a_caller_opens_is_named_only_when_the_caller_gave_its_id() -> None:
    named = plan_caller_change(make_channel(), LIVE, "platform-1", NOW)
    unnamed = plan_caller_change(make_channel(), LIVE, None, NOW)
    assert isinstance(named, StateChange) and named.session_named
    assert isinstance(unnamed, StateChange) and not unnamed.session_named and unnamed.session_id


def test_a_session_that_ended_before_the_stream_started_does_not_cover_it() -> None:
    ended_before = session(None, ended_at=NOW - timedelta(minutes=1))
    ended = NOW + timedelta(minutes=10)
    assert plan_past_stream(seen(live_now=False, ended_at=ended), ended_before, "sk-1") == CountFinishedBroadcast(
        "st-1", NOW, ended, 10.0)
    assert isinstance(plan_past_stream(seen(live_now=False), ended_before, "sk-1"), NoChange)
