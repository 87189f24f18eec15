"""domain.channel_events: what each change to the table means to a subscriber (CONTRACT.md section 13)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from data import channel_requests, sessions, table
from domain.channel_events import (
    ASSIGNMENT_RECORD,
    CHANNEL_RECORD,
    REQUEST_RECORD,
    SESSION_RECORD,
    ChannelRecordEvent,
    ChannelEventKind,
    RequestRecordEvent,
    ChannelRequestEventKind,
    HostAssignment,
    StreamReadings,
    events_of,
    host_assignment_of,
)
from domain.table_changes import ChangeKind, TableChange

AT = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)


def change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> TableChange:
    kind = ChangeKind.INSERT if old is None else ChangeKind.REMOVE if new is None else ChangeKind.MODIFY
    image = new if new is not None else old
    assert image is not None
    return TableChange(kind=kind, keys={"pk": image["pk"], "sk": image["sk"]}, old=old, new=new,
                       shard_id="shard-1", sequence_number="1", approximate_at=AT)


def channel(**attributes: Any) -> dict[str, Any]:
    return {"pk": "channel#c1", "sk": "info", "entityType": "persistentChannel", "channelId": "c1",
            "state": "IDLE", "streamKey": "sk_old", **attributes}


def session(**attributes: Any) -> dict[str, Any]:
    return {"pk": "channel#c1", "sk": "session#2026-12-06T14:00:00.000Z#s1", "entityType": "streamSession",
            "channelId": "c1", "sessionId": "s1", "startedAt": "2026-12-06T14:00:00.000Z", **attributes}


def request(**attributes: Any) -> dict[str, Any]:
    return {"pk": "channelRequest#r1", "sk": "info", "entityType": "channelRequest", "requestId": "r1",
            "requesterId": "host-1", "status": "PENDING", **attributes}


def assignment(channel_id: str = "c1") -> dict[str, Any]:
    return {"pk": "host#host-1", "sk": "channel#assignment", "entityType": "channelAssignment",
            "hostUserId": "host-1", "channelId": channel_id}


def kinds(found: list[Any]) -> list[str]:
    return [event.kind for event in found]


def test_record_kinds_are_spelled_as_storage_writes_them() -> None:
    assert (CHANNEL_RECORD, ASSIGNMENT_RECORD, SESSION_RECORD, REQUEST_RECORD) == (
        table.CHANNEL_ENTITY, table.ASSIGNMENT_ENTITY, sessions.SESSION_ENTITY, channel_requests.CHANNEL_REQUEST_ENTITY
    )


def test_a_new_channel_record_is_created_with_its_image() -> None:
    new = channel()
    assert events_of(change(None, new)) == [ChannelRecordEvent(ChannelEventKind.CREATED, "c1", AT, new)]


def test_a_removed_channel_record_is_deleted_without_a_channel() -> None:
    assert events_of(change(channel(), None)) == [ChannelRecordEvent(ChannelEventKind.DELETED, "c1", AT, None)]


def test_a_new_state_is_state_changed() -> None:
    new = channel(state="LIVE")
    assert events_of(change(channel(), new)) == [ChannelRecordEvent(ChannelEventKind.STATE_CHANGED, "c1", AT, new)]


def test_a_host_added_is_assignments_changed() -> None:
    assert kinds(events_of(change(channel(), channel(assignedHostIds={"host-1"})))) == ["ASSIGNMENTS_CHANGED"]


def test_a_host_removed_is_assignments_changed() -> None:
    assert kinds(events_of(change(channel(assignedHostIds={"host-1"}), channel()))) == ["ASSIGNMENTS_CHANGED"]


def test_a_new_plain_key_is_stream_key_changed() -> None:
    assert kinds(events_of(change(channel(), channel(streamKey="sk_new")))) == ["STREAM_KEY_CHANGED"]


def test_a_new_sealed_key_is_stream_key_changed() -> None:
    old = channel(streamKey=None, encryptedStreamKey="sealed-1")
    new = channel(streamKey=None, encryptedStreamKey="sealed-2")
    assert kinds(events_of(change(old, new))) == ["STREAM_KEY_CHANGED"]


def test_a_key_cleared_for_a_rotation_is_no_event() -> None:
    assert events_of(change(channel(), channel(streamKey=None, streamKeyChange={"token": "t"}))) == []


def test_going_offline_without_a_key_is_only_state_changed() -> None:
    offline = channel(state="OFFLINE", streamKey=None)
    assert kinds(events_of(change(channel(state="IDLE"), offline))) == ["STATE_CHANGED"]


def test_several_changes_in_one_write_are_each_an_event() -> None:
    new = channel(state="OFFLINE", streamKey="sk_new", assignedHostIds={"host-1"})
    assert kinds(events_of(change(channel(), new))) == ["STATE_CHANGED", "ASSIGNMENTS_CHANGED", "STREAM_KEY_CHANGED"]


@pytest.mark.parametrize(
    "bookkeeping",
    [
        {"totalBroadcasts": 3},
        {"streamLastSeenAt": "2026-12-06T14:00:00.000Z"},
        {"streamMissedOnce": True},
        {"currentStreamId": "st-1"},
        {"streamKeyChange": {"token": "t"}},
        {"updatedAt": "2026-12-06T14:00:00.000Z"},
        {"lastRecording": {"status": "Recording End"}},
    ],
    ids=lambda attributes: next(iter(attributes)),
)
def test_bookkeeping_on_a_channel_is_no_event(bookkeeping: dict[str, Any]) -> None:
    assert events_of(change(channel(), channel(**bookkeeping))) == []


def test_a_session_opened_is_session_started() -> None:
    assert events_of(change(None, session())) == [ChannelRecordEvent(ChannelEventKind.SESSION_STARTED, "c1", AT, None)]


def test_a_session_closed_is_session_ended() -> None:
    assert events_of(change(session(), session(endedAt="2026-12-06T15:00:00.000Z"))) == [
        ChannelRecordEvent(ChannelEventKind.SESSION_ENDED, "c1", AT, None)
    ]


def test_a_session_written_whole_started_and_ended() -> None:
    assert kinds(events_of(change(None, session(endedAt="2026-12-06T15:00:00.000Z")))) == [
        "SESSION_STARTED", "SESSION_ENDED"
    ]


def test_a_recording_attached_to_a_session_is_no_event() -> None:
    assert events_of(change(session(), session(recording={"status": "Recording End"}))) == []


def test_a_closed_session_changed_again_is_no_event() -> None:
    ended = session(endedAt="2026-12-06T15:00:00.000Z")
    assert events_of(change(ended, {**ended, "sessionId": "s2"})) == []


def test_a_session_removed_is_no_event() -> None:
    assert events_of(change(session(), None)) == []


@pytest.mark.parametrize(
    "old, new", [(None, "new"), ("old", "new"), ("old", None)], ids=["booked", "moved", "cancelled"]
)
def test_any_change_to_a_slot_is_schedule_changed(old: str | None, new: str | None) -> None:
    slot = {"pk": "channel#c1", "sk": "slot#1", "entityType": "channelSlot", "channelId": "c1"}
    assert events_of(change(slot if old else None, {**slot, "note": "x"} if new else None)) == [
        ChannelRecordEvent(ChannelEventKind.SCHEDULE_CHANGED, "c1", AT, None)
    ]


def test_a_new_pending_request_is_requested() -> None:
    new = request()
    assert events_of(change(None, new)) == [RequestRecordEvent(ChannelRequestEventKind.REQUESTED, AT, new)]


@pytest.mark.parametrize("status", ["APPROVED", "REJECTED", "CANCELLED"])
def test_a_decision_is_its_event(status: str) -> None:
    new = request(status=status)
    assert events_of(change(request(), new)) == [RequestRecordEvent(ChannelRequestEventKind(status), AT, new)]


def test_a_request_changed_without_a_new_status_is_no_event() -> None:
    assert events_of(change(request(status="APPROVED"), request(status="APPROVED", channelId="c1"))) == []


def test_a_request_removed_is_no_event() -> None:
    assert events_of(change(request(), None)) == []


def test_a_request_event_names_its_requester() -> None:
    (event,) = events_of(change(None, request()))
    assert isinstance(event, RequestRecordEvent) and event.requester_id == "host-1"


@pytest.mark.parametrize(
    "item",
    [
        {"pk": "counter#persistentChannel", "sk": "capacity", "entityType": "channelCapacityCounter", "used": 3},
        {"pk": "requester#host-1", "sk": "pendingChannelRequest", "entityType": "channelRequestPendingGuard"},
        {"pk": "ivsStream#st-1", "sk": "event#Stream Start", "channelId": "c1"},
        {"pk": "idempotency#k", "sk": "createChannel", "entityType": "channelIdempotencyKey"},
        {"pk": "channel#c1", "sk": "pending", "entityType": "persistentChannelPending", "channelId": "c1"},
        {"pk": "user#u1", "sk": "profile", "entityType": "userProfile"},
    ],
    ids=["counter", "request guard", "stream claim", "idempotency", "pending create", "another service's record"],
)
def test_other_records_are_no_event(item: dict[str, Any]) -> None:
    assert events_of(change(None, item)) == []


def test_an_assignment_put_names_its_hosts_channel() -> None:
    assert host_assignment_of(change(None, assignment("c1"))) == HostAssignment("host-1", "c1")


def test_an_assignment_removed_leaves_its_host_without_a_channel() -> None:
    assert host_assignment_of(change(assignment("c1"), None)) == HostAssignment("host-1", None)


def test_an_assignment_is_no_event_of_its_own() -> None:
    assert events_of(change(None, assignment())) == []


def test_a_channel_record_says_nothing_of_a_hosts_assignment() -> None:
    assert host_assignment_of(change(None, channel())) is None


def test_a_stream_seen_first_is_a_change() -> None:
    assert StreamReadings().changed({"arn:1": (0, "HEALTHY")}) == ["arn:1"]


def test_a_stream_read_the_same_again_is_no_change() -> None:
    readings = StreamReadings()
    readings.changed({"arn:1": (5, "HEALTHY")})
    assert readings.changed({"arn:1": (5, "HEALTHY")}) == []


def test_a_new_viewer_count_or_health_is_a_change() -> None:
    readings = StreamReadings()
    readings.changed({"arn:1": (5, "HEALTHY"), "arn:2": (1, "HEALTHY")})
    assert readings.changed({"arn:1": (6, "HEALTHY"), "arn:2": (1, "STARVING")}) == ["arn:1", "arn:2"]


def test_a_stream_back_after_a_gap_is_a_change() -> None:
    readings = StreamReadings()
    readings.changed({"arn:1": (5, "HEALTHY")})
    readings.changed({})
    assert readings.changed({"arn:1": (5, "HEALTHY")}) == ["arn:1"]
