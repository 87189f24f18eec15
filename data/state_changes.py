"""Channel state changes and IVS's events on the channel record: the conditional transition that
counts each broadcast once, with its session, its stream's claim and (for key changes) its stream
key, in one transaction (docs/broadcasts.md); and the markers of IVS's stream events.

The store of state changes (`ChannelsBackend.state_changes`); the counter's part is data.capacity's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.clock import format_timestamp
from domain.model import ChannelState, Recording
from domain.sessions import SessionEndReason
from domain.state_machine import StateChange
from data.capacity import CapacityStore
from data.dynamo import DynamoTable, put, update
from data.records import (
    CURRENT_SESSION_KEY,
    CURRENT_SESSION_NAMED,
    CURRENT_STREAM_ID,
    LAST_RECORDING,
    STREAM_LAST_SEEN,
    STREAM_MISSED_ONCE,
    recording_attribute,
)
from data.sessions import OPENED_SESSION_PART, SessionStore, session_sort_key
from data.stream_claims import STREAM_CLAIM_PART, StreamAlreadyClaimed, StreamClaims
from data.stream_key_records import ASSIGNMENT_KEYS_PART, KeyWrite
from data.table import (
    CHANNEL_SK,
    CHANNELS_BY_ARN_INDEX,
    EXPIRY_ATTRIBUTE,
    STATE_KEY_ATTRIBUTE,
    channel_key,
    stream_event_key,
)
from data.unit_of_work import TransactionRefused, UnitOfWork, commit_one

# The parts of a state change's (and an IVS event's) writes in a unit of work.
CHANNEL_STATE_PART = "channel-state"
CHANNEL_STATS_PART = "channel-stats"
EVENT_MARKER_PART = "event-marker"


class StaleChannel(Exception):
    """The channel changed between the read a state change was planned from and its write."""


class EventAlreadyApplied(Exception):
    """An IVS event with this stream id and name was applied before (IVS delivers at least once)."""


@dataclass(frozen=True)
class StreamEventMarker:
    """That an IVS stream event was applied, and when it happened (for events that arrive out of order)."""

    stream_id: str
    event_name: str
    at: str


IVS_EVENT_MARKER_LIFETIME_SECONDS = 14 * 24 * 60 * 60


class StateChangeStorage:
    """The state-change writes of the channel table (see the module docstring)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # State

    def apply_state_change(
        self, channel_id: str, change: StateChange, key_write: KeyWrite | None = None,
    ) -> None:
        """Write one planned transition and move the per-state counters, conditional on the state
        (and session) it was planned from: a concurrent change makes this raise StaleChannel.

        A change that opens a session for an IVS stream puts the stream's claim with it
        (StreamAlreadyClaimed when the stream has a session already). With `key_write`, the stream key
        IVS just made (or none) goes onto the channel and its assignments in the same transaction,
        conditional on the key-change lease (data.stream_key_records)."""
        now = format_timestamp(change.at)
        names = {"#state": "state", "#state_key": STATE_KEY_ATTRIBUTE, "#session": "currentSessionId"}
        values: dict[str, Any] = {":new": change.new_state.value, ":now": now, ":expected": change.expected_state.value}
        set_clauses = ["#state = :new", "#state_key = :new", "updatedAt = :now"]
        add_clauses: list[str] = []
        remove_clauses: list[str] = []
        # The session opened or closed by this change (and its stream's claim) is written with it, each
        # broadcast once; after the channel record and its counter, as it always was (the order of the
        # table's stream records, and so of the events subscribers see).
        written_with: list[Callable[[UnitOfWork], None]] = []
        if change.enters_live:
            assert change.session_id is not None
            sort_key = session_sort_key(change.at, change.session_id)
            set_clauses += ["#session = :session", "liveSince = :now", "lastBroadcastAt = :now",
                            "#session_key = :session_key", "#named = :named"]
            add_clauses.append("totalBroadcasts :one")
            values.update({":session": change.session_id, ":one": 1, ":session_key": sort_key,
                           ":named": change.session_named})
            session_id, stream_id = change.session_id, change.stream_id
            written_with.append(lambda unit: SessionStore.add_opened_to(
                unit, channel_id, session_id, change.at, change.host_user_id, stream_id, change.slot_id))
            if stream_id is not None:
                # One stream, one session: the stream's claim is written once, with its session.
                set_clauses.append("#stream = :stream")
                values[":stream"] = stream_id
                names["#stream"] = CURRENT_STREAM_ID
                claimed = stream_id
                written_with.append(lambda unit: StreamClaims.add_claim_to(unit, claimed, channel_id, sort_key,
                                                                           change.at))
        if change.leaves_live:
            remove_clauses += ["#session", "liveSince", "#session_key", "#stream", "#named"]
            names["#stream"] = CURRENT_STREAM_ID
            add_clauses.append("totalStreamingMinutes :minutes")
            values[":minutes"] = Decimal(str(change.minutes_streamed))
            if change.closing_session_key is not None:
                closing = change.closing_session_key
                written_with.append(lambda unit: SessionStore.add_closed_to(
                    unit, channel_id, closing, change.session_ended_at or change.at, change.minutes_streamed,
                    change.end_reason))
        if change.enters_live or change.leaves_live:
            names.update({"#session_key": CURRENT_SESSION_KEY, "#named": CURRENT_SESSION_NAMED})
            # The live-state check's notes belong to one broadcast.
            remove_clauses += [STREAM_LAST_SEEN, STREAM_MISSED_ONCE]
        key_condition = ""
        if key_write is not None:
            key_condition = " AND " + key_write.add_to(set_clauses, remove_clauses, names, values)
        expression = "SET " + ", ".join(set_clauses)
        if add_clauses:
            expression += " ADD " + ", ".join(add_clauses)
        if remove_clauses:
            expression += " REMOVE " + ", ".join(remove_clauses)

        state_condition = "#state = :expected"
        if change.expected_state is ChannelState.IDLE:
            state_condition = "(#state = :expected OR attribute_not_exists(#state))"  # older records default to IDLE
        if change.expected_session_id is None:
            # Older records may hold a NULL or empty session id where there is none.
            session_condition = "(attribute_not_exists(#session) OR attribute_type(#session, :null) OR #session = :empty)"
            values.update({":null": "NULL", ":empty": ""})
        else:
            session_condition = "#session = :expected_session"
            values[":expected_session"] = change.expected_session_id
        unit = UnitOfWork(self.table)
        unit.add(CHANNEL_STATE_PART, [update(
            channel_key(channel_id),
            expression,
            condition=f"attribute_exists(pk) AND {state_condition} AND {session_condition}{key_condition}",
            names=names,
            values=values,
        )])
        CapacityStore(self.table).add_state_move_to(unit, change.expected_state, change.new_state)
        for add in written_with:
            add(unit)
        if key_write is not None:
            unit.add(ASSIGNMENT_KEYS_PART, key_write.assignment_updates(channel_id))
        try:
            unit.commit()
        except TransactionRefused as refused:
            if STREAM_CLAIM_PART in unit.parts and refused.includes(STREAM_CLAIM_PART, OPENED_SESSION_PART):
                # The stream has its session (its claim, or a session IVS opened for it before claims).
                raise StreamAlreadyClaimed from None
            raise StaleChannel from None

    # IVS events

    def find_channel_id_by_arn(self, channel_arn: str) -> str | None:
        items, _ = self.table.query(
            IndexName=CHANNELS_BY_ARN_INDEX,
            KeyConditionExpression="channelArn = :arn",
            ExpressionAttributeValues={":arn": {"S": channel_arn}},
        )
        # Assignment records carry the ARN too: only the channel record's key counts.
        for item in items:
            if item["sk"] == CHANNEL_SK and str(item["pk"]).startswith("channel#"):
                return str(item["pk"]).removeprefix("channel#")
        return None

    def get_stream_event(self, stream_id: str, event_name: str) -> StreamEventMarker | None:
        item = self.table.get(stream_event_key(stream_id, event_name))
        if item is None:
            return None
        return StreamEventMarker(stream_id, event_name, str(item["at"]))

    def mark_stream_event(self, event: StreamEventMarker, now: datetime) -> None:
        """Record an event that changed nothing on the channel; EventAlreadyApplied when redelivered."""
        try:
            commit_one(self.table, EVENT_MARKER_PART, [self._marker_put(event, now)])
        except TransactionRefused:
            raise EventAlreadyApplied from None

    def add_finished_broadcast(self, channel_id: str, stream_id: str, started: datetime, ended: datetime,
                               minutes: float, now: datetime, host_user_id: str | None = None,
                               slot_id: str | None = None) -> None:
        """Count a whole broadcast nobody saw live (its start and end both arrived late): the stats,
        its finished session and the stream's claim, without a state change. StreamAlreadyClaimed
        when the stream has a session already."""
        def add_claim_and_session(unit: UnitOfWork) -> None:
            StreamClaims.add_claim_to(unit, stream_id, channel_id, session_sort_key(started, stream_id), now)
            SessionStore.add_completed_to(unit, channel_id, stream_id, started, ended, minutes, host_user_id,
                                          SessionEndReason.STREAM_ENDED, slot_id)

        values = {":started": format_timestamp(started), ":one": 1, ":minutes": Decimal(str(minutes)), ":null": "NULL"}
        unit = UnitOfWork(self.table)
        unit.add(CHANNEL_STATS_PART, [update(
            channel_key(channel_id),
            "SET lastBroadcastAt = :started ADD totalBroadcasts :one, totalStreamingMinutes :minutes",
            condition="attribute_exists(pk) AND (attribute_not_exists(lastBroadcastAt) "
            "OR attribute_type(lastBroadcastAt, :null) OR lastBroadcastAt < :started)",
            values=values,
        )])
        add_claim_and_session(unit)
        try:
            unit.commit()
        except TransactionRefused as refused:
            if refused.includes(STREAM_CLAIM_PART):
                raise StreamAlreadyClaimed from None
            # A later broadcast is already recorded: count this one without moving lastBroadcastAt.
            again = UnitOfWork(self.table)
            again.add(CHANNEL_STATS_PART, [update(
                channel_key(channel_id),
                "ADD totalBroadcasts :one, totalStreamingMinutes :minutes",
                condition="attribute_exists(pk)",
                values={":one": 1, ":minutes": Decimal(str(minutes))},
            )])
            add_claim_and_session(again)
            try:
                again.commit()
            except TransactionRefused as refused_again:
                if refused_again.includes(STREAM_CLAIM_PART):
                    raise StreamAlreadyClaimed from None
                raise StaleChannel from None

    def record_recording(self, channel_id: str, recording: Recording) -> bool:
        """Keep the newest recording IVS reported; False when a newer one is already kept."""
        try:
            commit_one(self.table, CHANNEL_STATS_PART, [update(
                channel_key(channel_id),
                "SET #recording = :recording",
                condition="attribute_exists(pk) AND (attribute_not_exists(#recording) OR #recording.#at <= :at)",
                names={"#recording": LAST_RECORDING, "#at": "at"},
                values={":recording": recording_attribute(recording), ":at": format_timestamp(recording.at)},
            )])
        except TransactionRefused:
            return False
        return True

    @staticmethod
    def _marker_put(event: StreamEventMarker, now: datetime) -> dict[str, Any]:
        return put(
            {
                **stream_event_key(event.stream_id, event.event_name),
                "entityType": "ivsStreamEvent",
                "at": event.at,
                EXPIRY_ATTRIBUTE: int(now.timestamp()) + IVS_EVENT_MARKER_LIFETIME_SECONDS,
            },
            condition="attribute_not_exists(pk)",
        )
