"""The live-state check's notes on a LIVE channel record (CONTRACT.md section 7): when IVS was last
seen streaming on it, and whether the last check missed the stream. Each note is conditional on the
broadcast it is about (state LIVE, same session), so a note never lands on a later broadcast."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.clock import format_timestamp
from data.dynamo import DynamoTable, update
from data.records import STREAM_LAST_SEEN, STREAM_MISSED_ONCE
from data.table import channel_key
from data.unit_of_work import TransactionRefused, commit_one


class LiveNotes:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def note_seen(self, channel_id: str, session_id: str | None, at: datetime) -> bool:
        return self._note(channel_id, session_id, "SET #seen = :at REMOVE #missed", {":at": format_timestamp(at)})

    def note_missed(self, channel_id: str, session_id: str | None) -> bool:
        return self._note(channel_id, session_id, "SET #missed = :true", {":true": True})

    def _note(self, channel_id: str, session_id: str | None, expression: str, values: dict[str, Any]) -> bool:
        names = {"#state": "state", "#session": "currentSessionId", "#seen": STREAM_LAST_SEEN,
                 "#missed": STREAM_MISSED_ONCE}
        condition = "#state = :live AND " + (
            "#session = :session" if session_id is not None else "attribute_not_exists(#session)"
        )
        values = {**values, ":live": "LIVE", **({":session": session_id} if session_id is not None else {})}
        if "#seen" not in expression:
            names.pop("#seen")
        try:
            commit_one(self.table, "live-note", [update(channel_key(channel_id), expression, condition=condition,
                                                        names=names, values=values)])
        except TransactionRefused:
            return False  # the broadcast ended or changed meanwhile: nothing to note
        return True
