"""One IVS stream, one session (docs/broadcasts.md): the stream's claim record, and the writes that
give a session its stream or its caller's id.

A claim is `pk = ivsStream#{streamId}`, `sk = session`: which channel and session the stream is the
broadcast of. It is put with `attribute_not_exists(pk)` in the same transaction that opens the
session or attaches the stream to one, so no stream id ever gets two sessions, whichever actor
(IVS's events, the live-state check, a caller) reports it first or again. It lives beside the IVS
event markers of the same stream (data.state_changes) and expires with them: IVS events older than
the markers' lifetime are refused before they get here (services.ivs_event_shape).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.clock import format_timestamp
from data.dynamo import DynamoTable, put, update
from data.records import CURRENT_SESSION_NAMED, CURRENT_STREAM_ID
from data.table import EXPIRY_ATTRIBUTE, STREAM_EVENT_PK_PREFIX, channel_key, session_key
from data.unit_of_work import TransactionRefused, UnitOfWork

CLAIM_SK = "session"
CLAIM_ENTITY = "ivsStreamSession"
# As long as the event markers beside it (data.state_changes.IVS_EVENT_MARKER_LIFETIME_SECONDS).
CLAIM_LIFETIME_SECONDS = 14 * 24 * 60 * 60
# The parts of a claim's transactions in a unit of work.
STREAM_CLAIM_PART = "stream-claim"
SESSION_PART = "session"
CHANNEL_SESSION_PART = "channel-session"


class StreamAlreadyClaimed(Exception):
    """The stream has its session already (a repeated or late report of it)."""


class SessionChanged(Exception):
    """The session a write was planned for is no longer as read (ended, named, or has a stream)."""


@dataclass(frozen=True)
class StreamClaim:
    stream_id: str
    channel_id: str
    session_key: str


def claim_key(stream_id: str) -> dict[str, str]:
    return {"pk": f"{STREAM_EVENT_PK_PREFIX}{stream_id}", "sk": CLAIM_SK}


def _claim_put(stream_id: str, channel_id: str, sort_key: str, now: datetime) -> dict[str, Any]:
    """The transaction entry that claims `stream_id` for one session (absent before: once)."""
    return put(
        {
            **claim_key(stream_id),
            "entityType": CLAIM_ENTITY,
            "channelId": channel_id,
            "sessionKey": sort_key,
            "claimedAt": format_timestamp(now),
            EXPIRY_ATTRIBUTE: int(now.timestamp()) + CLAIM_LIFETIME_SECONDS,
        },
        condition="attribute_not_exists(pk)",
    )


class StreamClaims:
    """Claims of IVS streams, and the session writes that come with them."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def get(self, stream_id: str) -> StreamClaim | None:
        item = self.table.get(claim_key(stream_id))
        if item is None:
            return None
        return StreamClaim(stream_id, str(item["channelId"]), str(item["sessionKey"]))

    def attach_stream(self, channel_id: str, expected_session_id: str, sort_key: str, stream_id: str,
                      now: datetime) -> None:
        """The open session (a caller's) gets IVS's stream: on the channel record, on the session and
        as the stream's claim, in one transaction. StreamAlreadyClaimed when the stream has a session;
        SessionChanged when the channel left that session or it has a stream already."""
        unit = UnitOfWork(self.table)
        unit.add(CHANNEL_SESSION_PART, [update(
            channel_key(channel_id),
            "SET #stream = :stream",
            condition="#state = :live AND #session = :session AND attribute_not_exists(#stream)",
            names={"#state": "state", "#session": "currentSessionId", "#stream": CURRENT_STREAM_ID},
            values={":stream": stream_id, ":live": "LIVE", ":session": expected_session_id},
        )])
        unit.add(SESSION_PART, [self._session_stream(channel_id, sort_key, stream_id, open_only=True)])
        self.add_claim_to(unit, stream_id, channel_id, sort_key, now)
        self._write(unit)

    def attach_to_past_session(self, channel_id: str, sort_key: str, stream_id: str, now: datetime) -> None:
        """A late start: the session that covered it (ended or open) gets the stream and its claim."""
        unit = UnitOfWork(self.table)
        unit.add(SESSION_PART, [self._session_stream(channel_id, sort_key, stream_id, open_only=False)])
        self.add_claim_to(unit, stream_id, channel_id, sort_key, now)
        self._write(unit)

    def name_session(self, channel_id: str, expected_session_id: str, sort_key: str, session_id: str,
                     host_user_id: str | None = None, slot_id: str | None = None) -> None:
        """The caller's sessionId (and the host it broadcasts for, with that host's slot, when given)
        becomes the open session's (its encoder connected first); once."""
        session_values: dict[str, Any] = {":new": session_id}
        expression = "SET sessionId = :new"
        if host_user_id is not None:
            session_values[":host"] = host_user_id
            expression += ", hostUserId = :host"
            if slot_id is not None:
                session_values[":slot"] = slot_id
                expression += ", slotId = :slot"
            else:
                expression += " REMOVE slotId"
        unit = UnitOfWork(self.table)
        unit.add(CHANNEL_SESSION_PART, [update(
            channel_key(channel_id),
            "SET #session = :new, #named = :true",
            condition="#state = :live AND #session = :expected AND (attribute_not_exists(#named) "
            "OR #named = :false)",
            names={"#state": "state", "#session": "currentSessionId", "#named": CURRENT_SESSION_NAMED},
            values={":new": session_id, ":true": True, ":false": False, ":live": "LIVE",
                    ":expected": expected_session_id},
        )])
        unit.add(SESSION_PART, [update(
            session_key(channel_id, sort_key),
            expression,
            condition="attribute_exists(pk) AND attribute_not_exists(endedAt)",
            values=session_values,
        )])
        self._write(unit)

    @staticmethod
    def _session_stream(channel_id: str, sort_key: str, stream_id: str, *, open_only: bool) -> dict[str, Any]:
        condition = "attribute_exists(pk) AND attribute_not_exists(streamId)"
        if open_only:
            condition += " AND attribute_not_exists(endedAt)"
        return update(session_key(channel_id, sort_key), "SET streamId = :stream", condition=condition,
                      values={":stream": stream_id})

    @staticmethod
    def add_claim_to(unit: UnitOfWork, stream_id: str, channel_id: str, sort_key: str, now: datetime) -> None:
        """The stream's claim on the session `sort_key`, put only when the stream has none."""
        unit.add(STREAM_CLAIM_PART, [_claim_put(stream_id, channel_id, sort_key, now)])

    @staticmethod
    def _write(unit: UnitOfWork) -> None:
        try:
            unit.commit()
        except TransactionRefused as refused:
            if refused.includes(STREAM_CLAIM_PART):
                raise StreamAlreadyClaimed from None
            raise SessionChanged from None
