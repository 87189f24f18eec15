"""What one change to the channel table means to a subscriber (CONTRACT.md section 13).

A `TableChange` (domain.table_changes) becomes zero or more events, decided by the item's
`entityType` and by which of its attributes changed. Bookkeeping the frontends never show (counters,
claims, idempotency records, the live-state check's notes, the key-change lease) means nothing and
becomes no event. The events name the record image they were built from; turning an image into a
channel or a request is storage's mapping (data.records, data.channel_requests), not a rule.

Assignment records become no event of their own: the same transaction adds the host to the channel
record's `assignedHostIds`, whose change is the ASSIGNMENTS_CHANGED event (with the channel as it is
after). They say which channel a host has, which is what authorizes a host's events
(`host_assignment_of`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.channel_requests import ChannelRequestStatus
from domain.table_changes import TableChange

# The `entityType` of each record kind an event comes from (data.table, data.sessions,
# data.channel_requests and the slots' records name them; tests/domain keeps the two spellings equal).
CHANNEL_RECORD = "persistentChannel"
ASSIGNMENT_RECORD = "channelAssignment"
SESSION_RECORD = "streamSession"
SLOT_RECORD = "channelSlot"
REQUEST_RECORD = "channelRequest"

# The attributes a channel record keeps its stream key in: plain (older records) or sealed.
STREAM_KEY_ATTRIBUTES = ("streamKey", "encryptedStreamKey")


class ChannelEventKind(StrEnum):
    CREATED = "CREATED"
    STATE_CHANGED = "STATE_CHANGED"
    ASSIGNMENTS_CHANGED = "ASSIGNMENTS_CHANGED"
    STREAM_KEY_CHANGED = "STREAM_KEY_CHANGED"
    SESSION_STARTED = "SESSION_STARTED"
    SESSION_ENDED = "SESSION_ENDED"
    STREAM = "STREAM"
    SCHEDULE_CHANGED = "SCHEDULE_CHANGED"
    DELETED = "DELETED"


class ChannelRequestEventKind(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class ChannelRecordEvent:
    """Something happened to one channel.

    `channel_image` is the channel record after the change when the change was to that record; None
    when it was to another record of the channel (a session, a slot) or when the channel is DELETED.
    """

    kind: ChannelEventKind
    channel_id: str
    at: datetime
    channel_image: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RequestRecordEvent:
    """A request was made or decided; `request_image` is its record after the change."""

    kind: ChannelRequestEventKind
    at: datetime
    request_image: Mapping[str, Any]

    @property
    def requester_id(self) -> str:
        return str(self.request_image.get("requesterId", ""))


@dataclass(frozen=True)
class HostAssignment:
    """Which channel a host is assigned to after a change: None when the host has none."""

    host_user_id: str
    channel_id: str | None


Event = ChannelRecordEvent | RequestRecordEvent  # as the records say it: images, not yet domain values

_DECISIONS = {
    ChannelRequestStatus.APPROVED: ChannelRequestEventKind.APPROVED,
    ChannelRequestStatus.REJECTED: ChannelRequestEventKind.REJECTED,
    ChannelRequestStatus.CANCELLED: ChannelRequestEventKind.CANCELLED,
}


def events_of(change: TableChange) -> list[Event]:
    """The events `change` means, in the order a subscriber should see them (often none)."""
    image = change.new if change.new is not None else change.old
    if image is None:
        return []
    entity = image.get("entityType")
    if entity == CHANNEL_RECORD:
        return _channel_events(change)
    if entity == SESSION_RECORD:
        return _session_events(change)
    if entity == SLOT_RECORD:
        return [ChannelRecordEvent(ChannelEventKind.SCHEDULE_CHANGED, str(image["channelId"]), change.approximate_at)]
    if entity == REQUEST_RECORD:
        return _request_events(change)
    return []


def host_assignment_of(change: TableChange) -> HostAssignment | None:
    """What an assignment record's change says about its host's channel; None for any other record."""
    image = change.new if change.new is not None else change.old
    if image is None or image.get("entityType") != ASSIGNMENT_RECORD:
        return None
    channel_id = None if change.new is None else str(change.new["channelId"])
    return HostAssignment(str(image["hostUserId"]), channel_id)


def _channel_events(change: TableChange) -> list[Event]:
    old, new, at = change.old, change.new, change.approximate_at
    if new is None:
        assert old is not None
        return [ChannelRecordEvent(ChannelEventKind.DELETED, str(old["channelId"]), at)]
    channel_id = str(new["channelId"])
    if old is None:
        return [ChannelRecordEvent(ChannelEventKind.CREATED, channel_id, at, new)]
    kinds = []
    if old.get("state") != new.get("state"):
        kinds.append(ChannelEventKind.STATE_CHANGED)
    if set(old.get("assignedHostIds") or ()) != set(new.get("assignedHostIds") or ()):
        kinds.append(ChannelEventKind.ASSIGNMENTS_CHANGED)
    # A new key, not the clearing that starts a rotation (the lease empties the record first) nor the
    # one OFFLINE makes (a STATE_CHANGED already).
    if _stream_key(new) is not None and _stream_key(old) != _stream_key(new):
        kinds.append(ChannelEventKind.STREAM_KEY_CHANGED)
    return [ChannelRecordEvent(kind, channel_id, at, new) for kind in kinds]


def _stream_key(image: Mapping[str, Any]) -> tuple[object, ...] | None:
    values = tuple(image.get(name) for name in STREAM_KEY_ATTRIBUTES)
    return None if all(value is None for value in values) else values


def _session_events(change: TableChange) -> list[Event]:
    old, new = change.old, change.new
    if new is None:
        return []  # sessions go only with their channel, whose DELETED says so
    channel_id, at = str(new["channelId"]), change.approximate_at
    events: list[Event] = []
    if old is None:
        events.append(ChannelRecordEvent(ChannelEventKind.SESSION_STARTED, channel_id, at))
    if new.get("endedAt") is not None and (old is None or old.get("endedAt") is None):
        events.append(ChannelRecordEvent(ChannelEventKind.SESSION_ENDED, channel_id, at))
    return events


def _request_events(change: TableChange) -> list[Event]:
    old, new = change.old, change.new
    if new is None:
        return []
    status = new.get("status")
    if old is not None and old.get("status") == status:
        return []  # a note or the created channel's id: no decision
    if old is None and status == ChannelRequestStatus.PENDING:
        return [RequestRecordEvent(ChannelRequestEventKind.REQUESTED, change.approximate_at, new)]
    kind = _DECISIONS.get(ChannelRequestStatus(str(status))) if status in ChannelRequestStatus.__members__ else None
    return [] if kind is None else [RequestRecordEvent(kind, change.approximate_at, new)]


Reading = tuple[int, str]  # what IVS reports of a live stream: (viewer count, health)


class StreamReadings:
    """The last reading of each channel's live stream (by channel ARN), to tell which changed.

    A stream seen for the first time counts as changed (its channel just went live, a subscriber wants
    its numbers); a stream no longer listed is forgotten (its end is the channel's SESSION_ENDED)."""

    def __init__(self) -> None:
        self._last: dict[str, Reading] = {}

    def changed(self, readings: Mapping[str, Reading]) -> list[str]:
        """The ARNs whose reading differs from the last one, in `readings`' order; remembers `readings`."""
        changed = [arn for arn, reading in readings.items() if self._last.get(arn) != reading]
        self._last = dict(readings)
        return changed
