"""Broadcast truth, model-based (docs/broadcasts.md): hypothesis drives random interleavings of every
actor against the real backend (moto) and the embedded IVS stand-in, and after every step checks the
invariants that make the usage statistics right.

Actors: callers (setChannelState LIVE/IDLE with and without the platform's sessionId), an admin
(stopBroadcast with and without keeping the key, OFFLINE and back), an encoder that connects,
disconnects and reconnects with the key it holds, IVS's events (each delivered late, repeated and in
any order, from the streams the stand-in really ran), recording events, the live-state check, and
time passing.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from app.bootstrap import Service
from embedded.emulator import EmbeddedAws
from domain.access import Caller
from domain.clock import format_timestamp, utc_now
from domain.errors import ChannelsError
from domain.model import Channel, ChannelState, NewChannelRequest
from services.channels import create_channel, set_channel_state
from services.ivs_events import StreamNotYetKnown, apply_ivs_event
from services.live_check import check_live
from services.stream_control import stop_broadcast
from tests.events.test_ivs_events import sample

ADMIN = Caller("admin-1", is_admin=True)
SERVICE_SESSIONS = ("platform-1", "platform-2")
# Each example is a fresh channel and up to 30 steps; BROADCAST_MODEL_EXAMPLES=500 explores further
# (with the stream claims and the stop on leaving LIVE removed, as a check of this test, 150 examples
# found the failure that 25 did not).
EXAMPLES = int(os.environ.get("BROADCAST_MODEL_EXAMPLES", "50"))


class BroadcastModel(RuleBasedStateMachine):
    def __init__(self, service: Service, aws: EmbeddedAws) -> None:
        super().__init__()
        assert aws.ivs_stand_in is not None
        self.stand_in = aws.ivs_stand_in
        self.offset = timedelta(0)
        self.backend = dataclasses.replace(service.backend, clock=lambda: utc_now() + self.offset,
                                           lost_after_seconds=90, channel_limit=100_000)
        self.channel = create_channel(self.backend, ADMIN, NewChannelRequest(name="Model Show"))
        self.encoder_key: str | None = None  # the key the encoder holds (it reconnects with it)
        self.streaming: str | None = None  # the stream the stand-in runs now, as last looked at
        self.events: list[dict[str, Any]] = []  # IVS's events, not yet delivered
        self.delivered: list[dict[str, Any]] = []  # ... and those delivered once (redelivered at random)
        self.ran_streams: list[str] = []

    # what IVS does, turned into the events EventBridge would deliver

    def _follow_ivs(self) -> None:
        stream = self.stand_in.stream_of(self.channel.arn)
        now_streaming = str(stream["streamId"]) if stream else None
        if now_streaming == self.streaming:
            return
        at = format_timestamp(self.backend.clock())
        if self.streaming is not None:
            self.events.append(sample("ivs_stream_end", self.channel.arn, stream_id=self.streaming, time=at))
        if now_streaming is not None and stream is not None:
            self.events.append(sample("ivs_stream_start", self.channel.arn, stream_id=now_streaming,
                                      time=str(stream["startTime"])))
            self.ran_streams.append(now_streaming)
        self.streaming = now_streaming

    def _read(self) -> Channel:
        found = self.backend.channels.get_channel(self.channel.id)
        assert found is not None
        return found

    def _key(self) -> str | None:
        channel = self._read()
        if channel.stream_key is None and channel.sealed_stream_key and self.backend.stream_keys:
            return self.backend.stream_keys.open(channel.id, channel.sealed_stream_key)
        return channel.stream_key

    # the encoder

    @rule()
    def encoder_connects_with_the_channels_key(self) -> None:
        self.encoder_key = self._key()
        if self.encoder_key is not None and self.stand_in.stream_of(self.channel.arn) is None:
            self.stand_in.connect_encoder(self.encoder_key)
        self._follow_ivs()

    @precondition(lambda self: self.encoder_key is not None)
    @rule()
    def encoder_reconnects_with_the_key_it_holds(self) -> None:
        if self.stand_in.stream_of(self.channel.arn) is None:
            try:
                assert self.encoder_key is not None
                self.stand_in.connect_encoder(self.encoder_key)
            except PermissionError:
                self.encoder_key = None  # revoked: it gives up
        self._follow_ivs()

    @rule()
    def encoder_stops(self) -> None:
        self.stand_in.disconnect_encoder(self.channel.arn)
        self._follow_ivs()

    # callers

    @rule(state=st.sampled_from([ChannelState.LIVE, ChannelState.IDLE]),
          session_id=st.sampled_from((None, *SERVICE_SESSIONS)))
    def caller_sets_state(self, state: ChannelState, session_id: str | None) -> None:
        try:
            set_channel_state(self.backend, ADMIN, self.channel.id, state, session_id)
        except ChannelsError:
            pass  # CONFLICT, INVALID_STATE_TRANSITION: refused, nothing changed
        self._follow_ivs()

    @rule(state=st.sampled_from([ChannelState.OFFLINE, ChannelState.IDLE]))
    def admin_takes_off_air_or_back(self, state: ChannelState) -> None:
        try:
            set_channel_state(self.backend, ADMIN, self.channel.id, state, None)
        except ChannelsError:
            pass
        self._follow_ivs()

    @rule(keep=st.booleans())
    def admin_stops_the_broadcast(self, keep: bool) -> None:
        try:
            stop_broadcast(self.backend, ADMIN, self.channel.id, keep)
        except ChannelsError:
            pass
        self._follow_ivs()

    # IVS's events, the check, time

    @precondition(lambda self: self.events)
    @rule(data=st.data())
    def ivs_delivers_an_event(self, data: st.DataObject) -> None:
        event = self.events.pop(data.draw(st.integers(0, len(self.events) - 1)))
        self.delivered.append(event)
        self._apply(event)

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def ivs_delivers_an_event_again(self, data: st.DataObject) -> None:
        self._apply(data.draw(st.sampled_from(self.delivered)))

    @precondition(lambda self: self.ran_streams)
    @rule(data=st.data(), status=st.sampled_from(["Recording End", "Recording Start Failure"]))
    def ivs_reports_a_recording(self, data: st.DataObject, status: str) -> None:
        stream = data.draw(st.sampled_from(self.ran_streams))
        event = sample("ivs_recording_end", self.channel.arn, stream_id=stream,
                       time=format_timestamp(self.backend.clock()), recording_status=status,
                       recording_s3_key_prefix=f"ivs/v1/{stream}", recording_session_stream_ids=[stream])
        try:
            apply_ivs_event(self.backend, event)
        except StreamNotYetKnown:
            pass  # retried later by Lambda: its stream has no session yet

    def _apply(self, event: dict[str, Any]) -> None:
        outcome = apply_ivs_event(self.backend, event)
        assert not outcome.startswith("refused"), outcome
        self._follow_ivs()

    @rule()
    def the_live_state_check_runs(self) -> None:
        check_live(self.backend)
        self._follow_ivs()
        if self._read().state is ChannelState.OFFLINE:
            assert self.stand_in.stream_of(self.channel.arn) is None, "the check stops streams on OFFLINE channels"

    @rule(seconds=st.sampled_from([5, 60, 120]))
    def time_passes(self, seconds: int) -> None:
        self.offset += timedelta(seconds=seconds)

    # the invariants, checked after every step on one read of the channel (nothing writes between them)

    @invariant()
    def the_channel_agrees_with_its_sessions_and_its_key(self) -> None:
        channel = self._read()
        self._every_broadcast_is_one_session_counted_once(channel)
        self._an_offline_channel_has_no_key(channel)

    def _every_broadcast_is_one_session_counted_once(self, channel: Channel) -> None:
        assert self.backend.sessions is not None
        page = self.backend.sessions.list_sessions(channel.id, 100, None)
        sessions = [found for found, _ in page.sessions]
        streams = [found.stream_id for found in sessions if found.stream_id is not None]
        assert len(streams) == len(set(streams)), f"a stream with two sessions: {streams}"
        assert channel.stats.total_broadcasts == len(sessions)
        minutes = sum(Decimal(str(found.duration_minutes or 0)) for found in sessions)
        assert abs(Decimal(str(channel.stats.total_streaming_minutes)) - minutes) < Decimal("0.01")
        open_sessions = [found for found in sessions if found.ended_at is None]
        if channel.state is ChannelState.LIVE:
            assert [found.session_id for found in open_sessions] == [channel.current_session_id]
            if channel.current_stream_id is not None:
                assert open_sessions[0].stream_id == channel.current_stream_id
        else:
            assert open_sessions == []
        for found in sessions:
            if found.recording is not None:
                assert found.recording.s3_key_prefix == f"ivs/v1/{found.stream_id}", "a recording of another stream"

    def _an_offline_channel_has_no_key(self, channel: Channel) -> None:
        if channel.state is ChannelState.OFFLINE:
            assert channel.stream_key is None and channel.sealed_stream_key is None


@pytest.mark.slow
def test_broadcasts_stay_true_whatever_the_actors_do_in_whatever_order(service: Service, aws: EmbeddedAws) -> None:
    run_state_machine_as_test(
        lambda: BroadcastModel(service, aws),
        settings=settings(max_examples=EXAMPLES, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]),
    )
