"""StreamSession records: one per broadcast, beside the channel record (CONTRACT.md section 7).

Key: `pk = channel#{channelId}`, `sk = session#{startedAt}#{sessionId}`, so that one Query on the
channel's partition (`begins_with(sk, "session#")`, descending) pages its sessions newest first.
No index attribute of the service's (`channelCatalog`, `channelState`, `channelArn`) is written, so
sessions never appear in channel listings, counts or ARN look-ups.

The writes here are transaction entries: the state change that opens or closes a session carries
them in its own TransactWriteItems (data.state_changes.StateChangeStorage.apply_state_change).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.clock import format_timestamp, parse_timestamp
from domain.errors import BadUserInput
from domain.sessions import SessionEndReason, StreamSession
from data.dynamo import DynamoTable, put, to_dynamo, update
from data.records import recording_attribute, recording_from_attribute
from data.table import channel_key, session_key
from data.unit_of_work import TransactionRefused, UnitOfWork, commit_one
from domain.model import Recording

SESSION_ENTITY = "streamSession"
# The parts of a session's writes in another store's unit of work (a state change's, an IVS event's).
OPENED_SESSION_PART = "opened-session"
CLOSED_SESSION_PART = "closed-session"
SESSION_SK_PREFIX = "session#"
_CURSOR_MAX_LENGTH = 512


def session_sort_key(started_at: datetime, session_id: str) -> str:
    return f"{SESSION_SK_PREFIX}{format_timestamp(started_at)}#{session_id}"


def _opened(
    channel_id: str, session_id: str, started_at: datetime, host_user_id: str | None, stream_id: str | None,
    slot_id: str | None = None,
) -> dict[str, Any]:
    """The Put of a new, open session (absent before: a broadcast is opened once)."""
    item: dict[str, Any] = {
        **session_key(channel_id, session_sort_key(started_at, session_id)),
        "entityType": SESSION_ENTITY,
        "channelId": channel_id,
        "sessionId": session_id,
        "startedAt": format_timestamp(started_at),
    }
    if host_user_id is not None:
        item["hostUserId"] = host_user_id
    if stream_id is not None:
        item["streamId"] = stream_id
    if slot_id is not None:
        item["slotId"] = slot_id
    return put(item, condition="attribute_not_exists(pk)")


def _closed(
    channel_id: str, sort_key: str, ended_at: datetime, minutes: float, reason: SessionEndReason
) -> dict[str, Any]:
    """The Update that closes an open session (once: a closed one is not closed again)."""
    return update(
        session_key(channel_id, sort_key),
        "SET endedAt = :ended, durationMinutes = :minutes, endReason = :reason",
        condition="attribute_exists(pk) AND attribute_not_exists(endedAt)",
        values={":ended": format_timestamp(ended_at), ":minutes": Decimal(str(minutes)), ":reason": reason.value},
    )


def _completed(
    channel_id: str, stream_id: str, started_at: datetime, ended_at: datetime, minutes: float,
    host_user_id: str | None, reason: SessionEndReason, slot_id: str | None = None,
) -> dict[str, Any]:
    """The Put of a whole session at once (IVS's end arrived before its start)."""
    entry = _opened(channel_id, stream_id, started_at, host_user_id, stream_id, slot_id)
    entry["Put"]["Item"].update(
        {"endedAt": {"S": format_timestamp(ended_at)}, "durationMinutes": {"N": str(minutes)},
         "endReason": {"S": reason.value}}
    )
    return entry


def session_from_item(item: dict[str, Any]) -> StreamSession:
    started = parse_timestamp(item.get("startedAt"))
    reason = item.get("endReason")
    minutes = item.get("durationMinutes")
    return StreamSession(
        channel_id=str(item["channelId"]),
        session_id=str(item["sessionId"]),
        stream_id=item.get("streamId") or None,
        started_at=started or datetime(1970, 1, 1, tzinfo=UTC),
        ended_at=parse_timestamp(item.get("endedAt")),
        duration_minutes=float(minutes) if isinstance(minutes, (int, float, Decimal)) else None,
        host_user_id=item.get("hostUserId") or None,
        end_reason=SessionEndReason(str(reason)) if reason in SessionEndReason.__members__ else None,
        recording=recording_from_attribute(item.get("recording")),
        slot_id=item.get("slotId") or None,
    )


@dataclass(frozen=True)
class SessionPage:
    sessions: list[tuple[StreamSession, str]]  # each with its cursor
    has_next_page: bool


def sessions_query(channel_id: str, first: int, after: str | None) -> dict[str, Any]:
    """The Query (without its table) of a page of the channel's sessions, newest first: `first + 1`
    items (the extra one says a next page exists); BAD_USER_INPUT for a cursor not the service's."""
    pk = channel_key(channel_id)["pk"]
    query: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": SESSION_SK_PREFIX}},
        "ScanIndexForward": False,
        "Limit": first + 1,
    }
    if after is not None:
        query["ExclusiveStartKey"] = to_dynamo(session_key(channel_id, _sort_key_from_cursor(after)))
    return query


def session_page(items: list[dict[str, Any]], first: int) -> SessionPage:
    """The page a sessions Query's items make."""
    return SessionPage(
        sessions=[(session_from_item(item), _cursor_of(str(item["sk"]))) for item in items[:first]],
        has_next_page=len(items) > first,
    )


def _cursor_of(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


def _sort_key_from_cursor(cursor: str) -> str:
    invalid = BadUserInput("'after' is not a cursor this service returned for these sessions.")
    if len(cursor) > _CURSOR_MAX_LENGTH:
        raise invalid
    try:
        sort_key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):
        raise invalid from None
    parts = sort_key.split("#")
    if len(parts) != 3 or parts[0] + "#" != SESSION_SK_PREFIX or parse_timestamp(parts[1]) is None or not parts[2]:
        raise invalid
    return sort_key


class SessionStore:
    """Reads of a channel's sessions, and the recording IVS reports after a broadcast."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    @staticmethod
    def add_opened_to(unit: UnitOfWork, channel_id: str, session_id: str, started_at: datetime,
                      host_user_id: str | None, stream_id: str | None, slot_id: str | None = None) -> None:
        """A new, open session (absent before: a broadcast is opened once)."""
        unit.add(OPENED_SESSION_PART, [_opened(channel_id, session_id, started_at, host_user_id, stream_id, slot_id)])

    @staticmethod
    def add_closed_to(unit: UnitOfWork, channel_id: str, sort_key: str, ended_at: datetime, minutes: float,
                      reason: SessionEndReason) -> None:
        """Close an open session (once: a closed one is not closed again)."""
        unit.add(CLOSED_SESSION_PART, [_closed(channel_id, sort_key, ended_at, minutes, reason)])

    @staticmethod
    def add_completed_to(unit: UnitOfWork, channel_id: str, stream_id: str, started_at: datetime,
                         ended_at: datetime, minutes: float, host_user_id: str | None, reason: SessionEndReason,
                         slot_id: str | None = None) -> None:
        """A whole session at once (IVS's end arrived before its start)."""
        unit.add(CLOSED_SESSION_PART, [_completed(channel_id, stream_id, started_at, ended_at, minutes,
                                                  host_user_id, reason, slot_id)])

    def list_sessions(self, channel_id: str, first: int, after: str | None) -> SessionPage:
        """Newest first: one Query of at most `first + 1` items (the extra one says a next page exists)."""
        items, _ = self.table.query(**sessions_query(channel_id, first, after))
        return session_page(items, first)

    def latest_started_by(self, channel_id: str, at: datetime) -> tuple[StreamSession, str] | None:
        """The channel's newest session that started at or before `at`, with its sort key (one Query
        of one item); whether it covers `at` is domain.broadcasts.covers'."""
        pk = channel_key(channel_id)["pk"]
        items, _ = self.table.query(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :prefix AND :upto",
            ExpressionAttributeValues={
                ":pk": {"S": pk},
                ":prefix": {"S": SESSION_SK_PREFIX},
                ":upto": {"S": f"{SESSION_SK_PREFIX}{format_timestamp(at)}#~"},
            },
            ScanIndexForward=False,
            Limit=1,
        )
        return (session_from_item(items[0]), str(items[0]["sk"])) if items else None

    def attach_recording(self, channel_id: str, sort_key: str, recording: Recording) -> bool:
        """Attach a recording to the session of its stream (found by the stream's claim), unless a
        later report of it is already attached. False when the session is gone or has a later one."""
        try:
            commit_one(self.table, "session-recording", [update(
                session_key(channel_id, sort_key),
                "SET #recording = :recording",
                condition="attribute_exists(pk) AND (attribute_not_exists(#recording) OR #recording.#at <= :at)",
                names={"#recording": "recording", "#at": "at"},
                values={":recording": recording_attribute(recording), ":at": format_timestamp(recording.at)},
            )])
        except TransactionRefused:
            return False
        return True
