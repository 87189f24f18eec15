"""IVS's EventBridge events drive channel state by stream id (docs/broadcasts.md): once per stream,
whatever order they arrive in, and only while IVS (the embedded stand-in) reports the stream live.

The events are the real shapes (samples/*.json, as AWS documents them), re-addressed to a channel and
a stream the test made. The backend's clock is pinned to the samples' day, so that the events' times
stay inside the window of events the service applies.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.bootstrap import Service
from embedded.emulator import EmbeddedAws
from embedded.ivs_stand_in import LocalIvsStreamsStandIn
from domain.access import Caller
from domain.model import Channel, ChannelState, NewChannelRequest
from domain.state_machine import plan_state_change
from services.backend import ChannelsBackend
from services.channels import create_channel, set_channel_state
from services.ivs_events import StreamNotYetKnown, apply_ivs_event

SAMPLES = Path(__file__).parent / "samples"
ADMIN = Caller("admin-1", is_admin=True)
SAMPLES_DAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def sample(name: str, arn: str, *, stream_id: str = "st-1", time: str | None = None, **detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(json.loads((SAMPLES / f"{name}.json").read_text()))
    event["resources"] = [arn]
    event["detail"]["stream_id"] = stream_id
    event["detail"].update(detail)
    if time is not None:
        event["time"] = time
    return event


def live_stream_event(stand_in: LocalIvsStreamsStandIn, channel_arn: str, stream_key: str, name: str = "ivs_stream_start") -> dict[str, Any]:
    """An encoder connects with `stream_key` now, and IVS's event about its stream, dated now (for the
    tests of the functions, whose clock is the real one)."""
    stand_in.connect_encoder(stream_key)
    stream = stand_in.stream_of(channel_arn)
    assert stream is not None
    return sample(name, channel_arn, stream_id=str(stream["streamId"]), time=str(stream["startTime"]))


@pytest.fixture
def backend(service: Service) -> ChannelsBackend:
    return dataclasses.replace(service.backend, clock=lambda: SAMPLES_DAY)


@pytest.fixture
def stand_in(aws: EmbeddedAws) -> LocalIvsStreamsStandIn:
    assert aws.ivs_stand_in is not None
    return aws.ivs_stand_in


@pytest.fixture
def channel(backend: ChannelsBackend) -> Channel:
    return create_channel(backend, ADMIN, NewChannelRequest(name="Morning Show"))


def read(backend: ChannelsBackend, channel_id: str) -> Channel:
    found = backend.channels.get_channel(channel_id)
    assert found is not None
    return found


def by_state(backend: ChannelsBackend) -> dict[ChannelState, int]:
    return backend.capacity.read_capacity_counts().by_state


def encoder(stand_in: LocalIvsStreamsStandIn, channel: Channel) -> str:
    """An encoder connects with the channel's key; the stream id IVS gave it."""
    assert channel.stream_key is not None
    stand_in.connect_encoder(channel.stream_key)
    stream = stand_in.stream_of(channel.arn)
    assert stream is not None
    return str(stream["streamId"])


def test_stream_start_and_end_drive_live_and_idle_with_stats(
    backend: ChannelsBackend, channel: Channel, stand_in: LocalIvsStreamsStandIn
) -> None:
    stream = encoder(stand_in, channel)
    start = sample("ivs_stream_start", channel.arn, stream_id=stream, time="2026-11-25T10:00:00Z")
    end = sample("ivs_stream_end", channel.arn, stream_id=stream, time="2026-11-25T10:30:00Z")

    assert apply_ivs_event(backend, start) == "went LIVE"
    live = read(backend, channel.id)
    assert (live.state, live.current_session_id, live.current_stream_id, live.stats.total_broadcasts) == (
        ChannelState.LIVE, stream, stream, 1)
    assert live.live_since is not None and live.live_since.isoformat() == "2026-11-25T10:00:00+00:00"

    assert apply_ivs_event(backend, end) == "went IDLE"
    idle = read(backend, channel.id)
    assert (idle.state, idle.current_session_id, idle.current_stream_id, idle.live_since) == (
        ChannelState.IDLE, None, None, None)
    assert idle.stats.total_streaming_minutes == 30.0
    assert idle.stats.last_broadcast_at is not None
    assert idle.stats.last_broadcast_at.isoformat() == "2026-11-25T10:00:00+00:00"
    assert by_state(backend)[ChannelState.IDLE] == 1


def test_a_redelivered_event_counts_once(backend: ChannelsBackend, channel: Channel, stand_in: LocalIvsStreamsStandIn) -> None:
    stream = encoder(stand_in, channel)
    start = sample("ivs_stream_start", channel.arn, stream_id=stream)
    end = sample("ivs_stream_end", channel.arn, stream_id=stream)
    assert apply_ivs_event(backend, start) == "went LIVE"
    assert apply_ivs_event(backend, start) == "already applied: the stream has its session"
    assert apply_ivs_event(backend, end) == "went IDLE"
    assert apply_ivs_event(backend, end) == "noted: the channel is not LIVE with this stream"
    # IVS still streams it (the End was early or forged): the stream has had its session all the same.
    assert apply_ivs_event(backend, start) == "already applied: the stream has its session"
    stats = read(backend, channel.id).stats
    assert (stats.total_broadcasts, stats.total_streaming_minutes) == (1, 30.0)


def test_session_ended_after_stream_end_changes_nothing(
    backend: ChannelsBackend, channel: Channel, stand_in: LocalIvsStreamsStandIn
) -> None:
    stream = encoder(stand_in, channel)
    apply_ivs_event(backend, sample("ivs_stream_start", channel.arn, stream_id=stream))
    apply_ivs_event(backend, sample("ivs_stream_end", channel.arn, stream_id=stream))
    before = read(backend, channel.id)
    assert apply_ivs_event(backend, sample("ivs_session_ended", channel.arn, stream_id=stream)).startswith("noted")
    assert read(backend, channel.id) == before


def test_an_end_that_arrives_before_its_start_counts_the_broadcast_once_and_never_goes_live(
    backend: ChannelsBackend, channel: Channel
) -> None:
    # Nothing streams on IVS any more: both events arrive late.
    end = sample("ivs_stream_end", channel.arn, time="2026-11-25T10:30:00Z")
    start = sample("ivs_stream_start", channel.arn, time="2026-11-25T10:00:00Z")
    assert apply_ivs_event(backend, end).startswith("noted")
    assert apply_ivs_event(backend, start) == "counted a finished broadcast of 30.0 minutes (reported late)"
    assert apply_ivs_event(backend, start) == "already applied: the stream has its session"
    after = read(backend, channel.id)
    assert after.state is ChannelState.IDLE
    assert (after.stats.total_broadcasts, after.stats.total_streaming_minutes) == (1, 30.0)


def test_a_late_start_without_its_end_opens_nothing_until_the_end_comes(backend: ChannelsBackend, channel: Channel) -> None:
    start = sample("ivs_stream_start", channel.arn, time="2026-11-25T10:00:00Z")
    assert apply_ivs_event(backend, start) == "late start: IVS no longer streams it and its end is not known yet"
    assert read(backend, channel.id).state is ChannelState.IDLE
    end = sample("ivs_stream_end", channel.arn, time="2026-11-25T10:45:00Z")
    assert apply_ivs_event(backend, end) == "counted a finished broadcast of 45.0 minutes (reported late)"
    assert apply_ivs_event(backend, end) == "noted: the channel is not LIVE with this stream"
    assert apply_ivs_event(backend, start) == "already applied: the stream has its session"
    assert read(backend, channel.id).stats.total_broadcasts == 1


def test_a_new_stream_while_an_old_one_is_live_closes_the_old_one(
    backend: ChannelsBackend, channel: Channel, stand_in: LocalIvsStreamsStandIn
) -> None:
    old = encoder(stand_in, channel)
    apply_ivs_event(backend, sample("ivs_stream_start", channel.arn, stream_id=old, time="2026-11-25T09:00:00Z"))
    stand_in.disconnect_encoder(channel.arn)  # st-old's end is lost
    new = encoder(stand_in, channel)
    assert apply_ivs_event(
        backend, sample("ivs_stream_start", channel.arn, stream_id=new, time="2026-11-25T10:00:00Z")
    ) == "went LIVE"
    after = read(backend, channel.id)
    assert (after.current_session_id, after.stats.total_broadcasts, after.stats.total_streaming_minutes) == (new, 2, 60.0)
    assert by_state(backend) == {ChannelState.IDLE: 0, ChannelState.LIVE: 1, ChannelState.OFFLINE: 0}
    # The late end of the old stream does not end the new one.
    assert apply_ivs_event(backend, sample("ivs_stream_end", channel.arn, stream_id=old)).startswith("noted")
    assert read(backend, channel.id).state is ChannelState.LIVE


def test_a_stream_on_an_offline_channel_is_stopped_and_counts_nothing(
    backend: ChannelsBackend, channel: Channel, stand_in: LocalIvsStreamsStandIn
) -> None:
    stream = encoder(stand_in, channel)
    # The table says OFFLINE while IVS still streams (an old connection): as after a failed stop.
    offline = plan_state_change(channel, ChannelState.OFFLINE, None, SAMPLES_DAY)
    assert offline is not None
    backend.state_changes.apply_state_change(channel.id, offline)

    assert apply_ivs_event(backend, sample("ivs_stream_start", channel.arn, stream_id=stream)) == (
        "stopped: the channel is OFFLINE")
    after = read(backend, channel.id)
    assert (after.state, after.stats.total_broadcasts) == (ChannelState.OFFLINE, 0)
    assert stand_in.stream_of(channel.arn) is None


def test_session_first_the_stream_is_attached_to_the_callers_session(
    backend: ChannelsBackend, channel: Channel, stand_in: LocalIvsStreamsStandIn
) -> None:
    set_channel_state(backend, ADMIN, channel.id, ChannelState.LIVE, "platform-session-1")
    stream = encoder(stand_in, channel)
    assert apply_ivs_event(backend, sample("ivs_stream_start", channel.arn, stream_id=stream)) == (
        "attached to the open session")
    after = read(backend, channel.id)
    assert (after.current_session_id, after.current_stream_id, after.stats.total_broadcasts) == (
        "platform-session-1", stream, 1)
    # The platform's end-session still names its session.
    ended = set_channel_state(backend, ADMIN, channel.id, ChannelState.IDLE, "platform-session-1")
    assert (ended.state, ended.stats.total_broadcasts) == (ChannelState.IDLE, 1)
    assert stand_in.stream_of(channel.arn) is None  # leaving LIVE stopped the stream on IVS


def test_events_for_unknown_channels_and_other_events_are_ignored(backend: ChannelsBackend, channel: Channel) -> None:
    unknown = sample("ivs_stream_start", "arn:aws:ivs:us-east-1:123456789012:channel/unknown00000")
    assert apply_ivs_event(backend, unknown).startswith("ignored: no channel record")
    assert apply_ivs_event(backend, sample("ivs_session_created", channel.arn)).startswith("ignored")
    assert apply_ivs_event(backend, {"detail-type": "Something Else"}).startswith("ignored")
    assert read(backend, channel.id).state is ChannelState.IDLE


def test_an_assignment_record_carrying_the_arn_is_not_taken_for_the_channel(backend: ChannelsBackend, channel: Channel) -> None:
    from services.channels import assign_channel

    assign_channel(backend, ADMIN, channel.id, "h1")
    assert backend.state_changes.find_channel_id_by_arn(channel.arn) == channel.id


def _broadcast(backend: ChannelsBackend, stand_in: LocalIvsStreamsStandIn, channel: Channel, start: str, end: str) -> str:
    stream = encoder(stand_in, channel)
    apply_ivs_event(backend, sample("ivs_stream_start", channel.arn, stream_id=stream, time=start))
    stand_in.disconnect_encoder(channel.arn)
    apply_ivs_event(backend, sample("ivs_stream_end", channel.arn, stream_id=stream, time=end))
    return stream


def test_recordings_attach_to_the_session_of_their_stream_however_late(
    backend: ChannelsBackend, channel: Channel, stand_in: LocalIvsStreamsStandIn
) -> None:
    first = _broadcast(backend, stand_in, channel, "2026-11-25T09:00:00Z", "2026-11-25T09:30:00Z")
    second = _broadcast(backend, stand_in, channel, "2026-11-25T10:00:00Z", "2026-11-25T10:30:00Z")
    # The first broadcast's recording arrives after the second broadcast ended.
    late = sample("ivs_recording_end", channel.arn, stream_id=first, time="2026-11-25T09:31:00Z",
                  recording_session_id="rec-first", recording_session_stream_ids=[first])
    assert apply_ivs_event(backend, late) == (
        "recording Recording End: kept as the channel's last recording; attached to 1 session")
    assert backend.sessions is not None
    page = backend.sessions.list_sessions(channel.id, 10, None)
    recordings = {session.stream_id: session.recording for session, _ in page.sessions}
    assert recordings[second] is None
    first_recording = recordings[first]
    assert first_recording is not None and first_recording.recording_session_id == "rec-first"


def test_a_recording_failure_is_kept_on_its_session_and_erases_no_other_recording(
    backend: ChannelsBackend, channel: Channel, stand_in: LocalIvsStreamsStandIn
) -> None:
    first = _broadcast(backend, stand_in, channel, "2026-11-25T09:00:00Z", "2026-11-25T09:30:00Z")
    apply_ivs_event(backend, sample("ivs_recording_end", channel.arn, stream_id=first, time="2026-11-25T09:31:00Z",
                                    recording_session_stream_ids=[first]))
    second = _broadcast(backend, stand_in, channel, "2026-11-25T10:00:00Z", "2026-11-25T10:30:00Z")
    failure = sample("ivs_recording_start", channel.arn, stream_id=second, time="2026-11-25T10:00:02Z",
                     recording_status="Recording Start Failure", recording_session_stream_ids=[second])
    assert apply_ivs_event(backend, failure) == "recording Recording Start Failure: attached to 1 session"

    kept = read(backend, channel.id).last_recording
    assert kept is not None and (kept.status, kept.duration_ms) == ("Recording End", 1800000)
    assert backend.sessions is not None
    page = backend.sessions.list_sessions(channel.id, 10, None)
    statuses = {session.stream_id: session.recording and session.recording.status for session, _ in page.sessions}
    assert statuses == {first: "Recording End", second: "Recording Start Failure"}


def test_a_recording_that_merged_reconnects_is_attached_to_each_of_their_sessions(
    backend: ChannelsBackend, channel: Channel, stand_in: LocalIvsStreamsStandIn
) -> None:
    first = _broadcast(backend, stand_in, channel, "2026-11-25T09:00:00Z", "2026-11-25T09:10:00Z")
    second = _broadcast(backend, stand_in, channel, "2026-11-25T09:10:05Z", "2026-11-25T09:40:00Z")
    merged = sample("ivs_recording_end", channel.arn, stream_id=second, time="2026-11-25T09:41:00Z",
                    recording_session_stream_ids=[first, second])
    assert apply_ivs_event(backend, merged).endswith("attached to 2 sessions")


def test_a_recording_of_a_stream_without_a_session_yet_is_retried_while_young(
    backend: ChannelsBackend, channel: Channel
) -> None:
    young = sample("ivs_recording_start", channel.arn, stream_id="st-unseen", time="2026-11-25T11:59:00Z",
                   recording_session_stream_ids=["st-unseen"])
    with pytest.raises(StreamNotYetKnown):
        apply_ivs_event(backend, young)
    old = sample("ivs_recording_start", channel.arn, stream_id="st-unseen", time="2026-11-25T09:00:00Z",
                 recording_session_stream_ids=["st-unseen"])
    assert apply_ivs_event(backend, old) == "recording Recording Start: no session of stream st-unseen"


async def test_last_recording_is_a_channel_field(backend: ChannelsBackend, channel: Channel, gql: Any, admin: str) -> None:
    apply_ivs_event(backend, sample("ivs_recording_end", channel.arn, recording_session_stream_ids=[]))
    result = await gql(
        "query($id: ID!) { channel(id: $id) { lastRecording { status s3BucketName s3KeyPrefix durationMs at "
        "recordingSessionId } } }",
        {"id": channel.id}, token=admin,
    )
    assert result["data"]["channel"]["lastRecording"] == {
        "status": "Recording End",
        "s3BucketName": "shelcaster-recordings",
        "s3KeyPrefix": "ivs/v1/123456789012/abcdefghijkl/2026/11/25/10/0/ABCDEFGH1234",
        "durationMs": 1800000,
        "at": "2026-11-25T10:31:00.000Z",
        "recordingSessionId": "AbCdEf123456",
    }


def test_a_broadcast_ivs_opened_before_stream_claims_is_not_counted_again(
    backend: ChannelsBackend, channel: Channel, stand_in: LocalIvsStreamsStandIn
) -> None:
    stream = encoder(stand_in, channel)
    # As the previous version wrote it: the session's id is the stream id; no currentStreamId, no claim.
    opened = plan_state_change(channel, ChannelState.LIVE, stream, datetime(2026, 11, 25, 10, tzinfo=UTC))
    assert opened is not None
    backend.state_changes.apply_state_change(channel.id, opened)

    assert apply_ivs_event(backend, sample("ivs_stream_start", channel.arn, stream_id=stream)) == (
        "already applied: the stream has its session")
    assert apply_ivs_event(backend, sample("ivs_stream_end", channel.arn, stream_id=stream,
                                           time="2026-11-25T10:30:00Z")) == "went IDLE"
    after = read(backend, channel.id)
    assert (after.stats.total_broadcasts, after.stats.total_streaming_minutes) == (1, 30.0)
