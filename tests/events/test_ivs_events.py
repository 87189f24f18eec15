"""IVS's EventBridge events drive channel state, idempotently and whatever order they arrive in.

The events are the real shapes (samples/*.json, as AWS documents them), re-addressed to a channel
the test created.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from app.bootstrap import Service
from domain.access import Caller
from domain.model import ChannelState, NewChannelRequest
from services.channels import create_channel, set_channel_state
from services.ivs_events import apply_ivs_event

SAMPLES = Path(__file__).parent / "samples"
ADMIN = Caller("admin-1", is_admin=True)


def sample(name: str, arn: str, *, stream_id: str = "st-1", time: str | None = None) -> dict[str, Any]:
    event = copy.deepcopy(json.loads((SAMPLES / f"{name}.json").read_text()))
    event["resources"] = [arn]
    event["detail"]["stream_id"] = stream_id
    if time is not None:
        event["time"] = time
    return event


@pytest.fixture
def channel(service: Service) -> Any:
    return create_channel(service.backend, ADMIN, NewChannelRequest(name="Morning Show"))


def read(service: Service, channel_id: str) -> Any:
    found = service.backend.repository.get_channel(channel_id)
    assert found is not None
    return found


def by_state(service: Service) -> dict[ChannelState, int]:
    return service.backend.repository.read_capacity_counts().by_state


def test_stream_start_and_end_drive_live_and_idle_with_stats(service: Service, channel: Any) -> None:
    start = sample("ivs_stream_start", channel.arn, time="2026-11-25T10:00:00Z")
    end = sample("ivs_stream_end", channel.arn, time="2026-11-25T10:30:00Z")

    assert apply_ivs_event(service.backend, start) == "went LIVE"
    live = read(service, channel.id)
    assert (live.state, live.current_session_id, live.stats.total_broadcasts) == (ChannelState.LIVE, "st-1", 1)
    assert live.live_since.isoformat() == "2026-11-25T10:00:00+00:00"

    assert apply_ivs_event(service.backend, end) == "went IDLE"
    idle = read(service, channel.id)
    assert (idle.state, idle.current_session_id, idle.live_since) == (ChannelState.IDLE, None, None)
    assert idle.stats.total_streaming_minutes == 30.0
    assert idle.stats.last_broadcast_at.isoformat() == "2026-11-25T10:00:00+00:00"
    assert by_state(service)[ChannelState.IDLE] == 1


def test_a_redelivered_event_counts_once(service: Service, channel: Any) -> None:
    start = sample("ivs_stream_start", channel.arn)
    end = sample("ivs_stream_end", channel.arn)
    assert apply_ivs_event(service.backend, start) == "went LIVE"
    assert apply_ivs_event(service.backend, start) == "duplicate: already applied"
    assert apply_ivs_event(service.backend, end) == "went IDLE"
    assert apply_ivs_event(service.backend, end) == "duplicate: already applied"
    assert apply_ivs_event(service.backend, start) == "duplicate: already applied"
    stats = read(service, channel.id).stats
    assert (stats.total_broadcasts, stats.total_streaming_minutes) == (1, 30.0)


def test_session_ended_after_stream_end_changes_nothing(service: Service, channel: Any) -> None:
    apply_ivs_event(service.backend, sample("ivs_stream_start", channel.arn))
    apply_ivs_event(service.backend, sample("ivs_stream_end", channel.arn))
    before = read(service, channel.id)
    assert apply_ivs_event(service.backend, sample("ivs_session_ended", channel.arn)).startswith("noted")
    assert read(service, channel.id) == before


def test_an_end_that_arrives_before_its_start_still_counts_the_broadcast_once(service: Service, channel: Any) -> None:
    end = sample("ivs_stream_end", channel.arn, time="2026-11-25T10:30:00Z")
    start = sample("ivs_stream_start", channel.arn, time="2026-11-25T10:00:00Z")
    assert apply_ivs_event(service.backend, end).startswith("noted")
    assert apply_ivs_event(service.backend, start).startswith("counted a finished broadcast of 30.0 minutes")
    assert apply_ivs_event(service.backend, start) == "duplicate: already applied"
    after = read(service, channel.id)
    assert after.state is ChannelState.IDLE  # it never stays LIVE
    assert (after.stats.total_broadcasts, after.stats.total_streaming_minutes) == (1, 30.0)


def test_a_new_stream_while_an_old_one_is_live_closes_the_old_one(service: Service, channel: Any) -> None:
    apply_ivs_event(service.backend, sample("ivs_stream_start", channel.arn, stream_id="st-old", time="2026-11-25T09:00:00Z"))
    # st-old's end was lost; st-new starts an hour later.
    assert apply_ivs_event(
        service.backend, sample("ivs_stream_start", channel.arn, stream_id="st-new", time="2026-11-25T10:00:00Z")
    ) == "went LIVE"
    after = read(service, channel.id)
    assert (after.current_session_id, after.stats.total_broadcasts, after.stats.total_streaming_minutes) == (
        "st-new", 2, 60.0
    )
    assert by_state(service) == {ChannelState.IDLE: 0, ChannelState.LIVE: 1, ChannelState.OFFLINE: 0}
    # The late end of st-old does not end st-new.
    assert apply_ivs_event(service.backend, sample("ivs_stream_end", channel.arn, stream_id="st-old")).startswith("noted")
    assert read(service, channel.id).state is ChannelState.LIVE


def test_a_start_on_an_offline_channel_leaves_it_offline(service: Service, channel: Any) -> None:
    set_channel_state(service.backend, ADMIN, channel.id, ChannelState.OFFLINE, None)
    assert apply_ivs_event(service.backend, sample("ivs_stream_start", channel.arn)) == "ignored: the channel is OFFLINE"
    assert read(service, channel.id).state is ChannelState.OFFLINE


def test_a_start_matching_a_manual_go_live_changes_nothing(service: Service, channel: Any) -> None:
    set_channel_state(service.backend, ADMIN, channel.id, ChannelState.LIVE, "st-1")
    assert apply_ivs_event(service.backend, sample("ivs_stream_start", channel.arn)) == "already LIVE with this stream"
    assert read(service, channel.id).stats.total_broadcasts == 1


def test_events_for_unknown_channels_and_other_events_are_ignored(service: Service, channel: Any) -> None:
    unknown = sample("ivs_stream_start", "arn:aws:ivs:us-east-1:123456789012:channel/unknown00000")
    assert apply_ivs_event(service.backend, unknown).startswith("ignored: no channel record")
    assert apply_ivs_event(service.backend, sample("ivs_session_created", channel.arn)).startswith("ignored")
    assert apply_ivs_event(service.backend, {"detail-type": "Something Else"}).startswith("ignored")
    assert read(service, channel.id).state is ChannelState.IDLE


def test_an_assignment_record_carrying_the_arn_is_not_taken_for_the_channel(service: Service, channel: Any) -> None:
    from services.channels import assign_channel

    assign_channel(service.backend, ADMIN, channel.id, "h1")
    assert service.backend.repository.find_channel_id_by_arn(channel.arn) == channel.id


def test_recording_events_keep_the_latest_recording(service: Service, channel: Any) -> None:
    end = sample("ivs_recording_end", channel.arn, time="2026-11-25T10:31:00Z")
    start = sample("ivs_recording_start", channel.arn, time="2026-11-25T10:00:02Z")
    assert apply_ivs_event(service.backend, end) == "recording noted"
    # The start arrives late: it is older than what is kept.
    assert apply_ivs_event(service.backend, start) == "ignored: a newer recording is already noted"
    recording = read(service, channel.id).last_recording
    assert recording is not None
    assert (recording.status, recording.s3_bucket_name, recording.duration_ms) == (
        "Recording End", "shelcaster-recordings", 1800000
    )
    assert recording.s3_key_prefix.startswith("ivs/v1/123456789012/")


async def test_last_recording_is_a_channel_field(service: Service, channel: Any, gql: Any, admin: str) -> None:
    apply_ivs_event(service.backend, sample("ivs_recording_end", channel.arn))
    result = await gql(
        "query($id: ID!) { channel(id: $id) { lastRecording { status s3BucketName s3KeyPrefix durationMs at } } }",
        {"id": channel.id}, token=admin,
    )
    assert result["data"]["channel"]["lastRecording"] == {
        "status": "Recording End",
        "s3BucketName": "shelcaster-recordings",
        "s3KeyPrefix": "ivs/v1/123456789012/abcdefghijkl/2026/11/25/10/0/ABCDEFGH1234",
        "durationMs": 1800000,
        "at": "2026-11-25T10:31:00.000Z",
    }
