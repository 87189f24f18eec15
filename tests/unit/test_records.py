"""Records ⇄ domain values (CONTRACT.md section 1): the older functions' records read with the
contract's defaults, and the service's records keep every attribute of the seed's shapes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from data.dynamo import from_dynamo
from data.records import assignment_from_item, assignment_item, channel_from_item, new_channel_item
from domain.model import (
    Assignment,
    AssignmentModel,
    Channel,
    ChannelState,
    ChannelStats,
    ChannelType,
    LatencyMode,
)
from tests.unit.builders import NOW, make_assignment, make_channel
from tests.unit.seed_records import (
    RECORDING_ARN,
    SEED_ASSIGNMENT_ATTRIBUTES,
    SEED_CHANNEL_ATTRIBUTES,
    seed_assignment,
    seed_channel,
)

CHANNEL_ID = "5e0c7a1b-2d3f-4a5b-8c6d-7e8f9a0b1c2d"
CREATED = datetime(2026, 1, 5, 9, 30, 0, tzinfo=UTC)


def test_a_channel_just_created_by_the_older_function_reads_with_the_contract_defaults() -> None:
    item = from_dynamo(seed_channel(CHANNEL_ID))

    assert channel_from_item(item) == Channel(
        id=CHANNEL_ID,
        arn="arn:aws:ivs:us-east-1:123456789012:channel/5e0c7a1b2d3f",
        name="Morning Show",
        type=ChannelType.STANDARD,
        latency_mode=LatencyMode.LOW,
        assignment_model=AssignmentModel.HOST_OWNED,
        playback_url=(
            "https://a1b2c3d4e5f6.us-east-1.playback.live-video.net/api/video/v1/"
            "us-east-1.123456789012.channel.5e0c7a1b2d3f.m3u8"
        ),
        ingest_endpoint="a1b2c3d4e5f6.global-contribute.live-video.net",
        stream_key="sk_us-east-1_5e0c7a1b2d3fSecretStreamKey",
        state=ChannelState.IDLE,
        recording_configuration_arn=RECORDING_ARN,
        current_session_id=None,
        live_since=None,
        stats=ChannelStats(total_broadcasts=0, total_streaming_minutes=0.0, last_broadcast_at=None),
        created_at=CREATED,
        updated_at=CREATED,
        assigned_host_ids=frozenset(),
    )


def test_seed_record_numbers_are_read_as_decimal_and_turned_into_int_and_float() -> None:
    item = from_dynamo(seed_channel(CHANNEL_ID, total_broadcasts="7", total_streaming_minutes="312.5",
                                    last_broadcast_at="2026-02-01T20:15:30.250Z"))
    assert item["totalBroadcasts"] == Decimal("7")

    stats = channel_from_item(item).stats

    assert stats == ChannelStats(
        total_broadcasts=7,
        total_streaming_minutes=312.5,
        last_broadcast_at=datetime(2026, 2, 1, 20, 15, 30, 250000, tzinfo=UTC),
    )
    assert type(stats.total_broadcasts) is int and type(stats.total_streaming_minutes) is float


def test_recording_is_enabled_when_the_record_has_a_recording_configuration_arn() -> None:
    channel = channel_from_item(from_dynamo(seed_channel(CHANNEL_ID, recording=True)))

    assert channel.recording_enabled is True


def test_recording_is_disabled_when_the_recording_configuration_arn_is_null() -> None:
    channel = channel_from_item(from_dynamo(seed_channel(CHANNEL_ID, recording=False)))

    assert (channel.recording_configuration_arn, channel.recording_enabled) == (None, False)


def test_recording_is_disabled_when_the_recording_configuration_arn_is_missing() -> None:
    item = from_dynamo(seed_channel(CHANNEL_ID))
    del item["recordingConfigurationArn"]

    assert channel_from_item(item).recording_enabled is False


def test_missing_stats_read_as_zero() -> None:
    item = from_dynamo(seed_channel(CHANNEL_ID))
    for name in ("totalBroadcasts", "totalStreamingMinutes", "lastBroadcastAt"):
        del item[name]

    assert channel_from_item(item).stats == ChannelStats(0, 0.0, None)


def test_a_channel_the_older_function_set_live_keeps_its_session_and_has_no_live_since() -> None:
    item = from_dynamo(seed_channel(CHANNEL_ID, state="LIVE", session_id="session-123",
                                    updated_at="2026-01-06T18:00:00.000Z"))

    channel = channel_from_item(item)

    assert (channel.state, channel.current_session_id, channel.live_since) == (ChannelState.LIVE, "session-123", None)
    assert channel.updated_at == datetime(2026, 1, 6, 18, 0, 0, tzinfo=UTC)


def test_a_channel_set_live_without_session_id_by_the_older_function_has_no_session() -> None:
    channel = channel_from_item(from_dynamo(seed_channel(CHANNEL_ID, state="LIVE", session_id=None)))

    assert (channel.state, channel.current_session_id) == (ChannelState.LIVE, None)


@pytest.mark.parametrize("state", ["IDLE", "LIVE", "OFFLINE"])
def test_seed_states_are_read_as_they_are(state: str) -> None:
    assert channel_from_item(from_dynamo(seed_channel(CHANNEL_ID, state=state))).state == ChannelState(state)


def test_assigned_host_ids_are_read_from_the_string_set() -> None:
    item = from_dynamo({**seed_channel(CHANNEL_ID), "assignedHostIds": {"SS": ["host-a", "host-b"]}})

    assert channel_from_item(item).assigned_host_ids == frozenset({"host-a", "host-b"})


def test_new_channel_record_keeps_every_seed_attribute_when_every_value_is_known() -> None:
    channel = make_channel(
        state=ChannelState.LIVE,
        current_session_id="s-1",
        stats=ChannelStats(total_broadcasts=1, total_streaming_minutes=0.0, last_broadcast_at=NOW),
    )

    assert SEED_CHANNEL_ATTRIBUTES <= set(new_channel_item(channel))


def test_new_channel_record_keeps_every_seed_attribute_for_a_freshly_created_channel() -> None:
    fresh = make_channel(recording_configuration_arn=None)

    assert set(new_channel_item(fresh)) >= SEED_CHANNEL_ATTRIBUTES


def test_new_channel_record_has_the_seed_keys_and_entity_type() -> None:
    channel = make_channel()

    item = new_channel_item(channel)

    assert (item["pk"], item["sk"], item["entityType"], item["channelId"]) == (
        f"channel#{channel.id}", "info", "persistentChannel", channel.id
    )


def test_new_channel_record_writes_timestamps_with_milliseconds_and_z() -> None:
    item = new_channel_item(make_channel())

    assert (item["createdAt"], item["updatedAt"]) == ("2026-10-01T17:00:00.000Z", "2026-10-01T17:00:00.000Z")


def test_new_channel_record_adds_the_listing_keys_and_the_service_attributes() -> None:
    item = new_channel_item(make_channel(type=ChannelType.BASIC, assignment_model=AssignmentModel.SHARED))

    assert {name: item[name] for name in set(item) - SEED_CHANNEL_ATTRIBUTES} == {
        "type": "BASIC",
        "latencyMode": "LOW",
        "assignmentModel": "SHARED",
        "channelCatalog": "persistentChannel",
        "channelState": "IDLE",
    }


def test_new_channel_record_reads_back_as_the_same_channel() -> None:
    channel = make_channel(
        type=ChannelType.ADVANCED_SD,
        latency_mode=LatencyMode.NORMAL,
        assignment_model=AssignmentModel.SHARED,
        stats=ChannelStats(total_broadcasts=2, total_streaming_minutes=12.25, last_broadcast_at=NOW),
    )

    assert channel_from_item(new_channel_item(channel)) == channel


def test_seed_assignment_record_reads_as_an_assignment() -> None:
    channel_record = seed_channel(CHANNEL_ID)
    item = from_dynamo(seed_assignment("host-a", channel_record))

    assert assignment_from_item(item) == Assignment(
        host_user_id="host-a",
        channel_id=CHANNEL_ID,
        channel_arn="arn:aws:ivs:us-east-1:123456789012:channel/5e0c7a1b2d3f",
        playback_url=channel_record["playbackUrl"]["S"],
        ingest_endpoint="a1b2c3d4e5f6.global-contribute.live-video.net",
        stream_key="sk_us-east-1_5e0c7a1b2d3fSecretStreamKey",
        assigned_at=datetime(2026, 1, 6, 10, 0, 0, tzinfo=UTC),
        assigned_by="admin-sub-1",
    )


def test_assignment_record_has_exactly_the_seed_attributes() -> None:
    item = assignment_item(make_assignment("host-a", make_channel()))

    assert set(item) == SEED_ASSIGNMENT_ATTRIBUTES
    assert (item["pk"], item["sk"], item["entityType"]) == ("host#host-a", "channel#assignment", "channelAssignment")


def test_assignment_round_trips_through_its_record() -> None:
    assignment = make_assignment("host-a", make_channel())

    assert assignment_from_item(assignment_item(assignment)) == assignment


def test_assignment_without_stream_key_or_assigner_round_trips() -> None:
    assignment = dataclasses.replace(make_assignment("host-a", make_channel()), stream_key=None, assigned_by=None)

    assert assignment_from_item(assignment_item(assignment)) == assignment
