"""Stream keys on the records, while IVS's key changes (CONTRACT.md section 7: rotate, OFFLINE).

IVS allows one stream key per channel, so a key can only be replaced by deleting the old one first.
The records follow one rule, so that no record ever holds a key IVS no longer has:

- before IVS loses a key, one transaction takes the channel's *key-change lease* and clears the key
  from the channel record and every assignment record of the channel (`begin_key_change`);
- a key is written only after IVS created it, by the holder of the lease, in one transaction that
  releases the lease (`KeyWrite`, with or without a state change);
- a failed step releases the lease (`abandon_key_change`); the records stay keyless until a retry
  or `reconcile` issues a new key. A lease left by a crash expires after LEASE_SECONDS.

Lease: `streamKeyChange = {token, startedAt}` on the channel record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.clock import format_timestamp
from domain.model import Assignment, Channel, ChannelState
from data.dynamo import DynamoTable, update
from data.records import KEY_CHANGE, SEALED_STREAM_KEY
from data.table import assignment_key, channel_key
from data.unit_of_work import TransactionRefused, UnitOfWork, commit_one

LEASE_SECONDS = 60
# The parts of a key change's writes in a unit of work: the lease on the channel, the assignments' keys.
KEY_LEASE_PART = "key-lease"
ASSIGNMENT_KEYS_PART = "assignment-keys"


class KeyChangeInProgress(Exception):
    """Another request holds the channel's key-change lease (or the channel changed state)."""


class LeaseLost(Exception):
    """The lease this request took is no longer its own (it expired and was taken over)."""


@dataclass(frozen=True)
class KeyWrite:
    """A stream key IVS just created, written to the channel and its assignments by the lease holder
    (None: the records are left keyless, as OFFLINE leaves them)."""

    lease_token: str
    plain: str | None
    sealed: str | None
    hosts: tuple[str, ...] = field(default=())

    def add_to(self, set_clauses: list[str], remove_clauses: list[str], names: dict[str, str],
               values: dict[str, Any]) -> str:
        """Add this write to a channel record's update; returns the condition it needs."""
        names.update({"#key_change": KEY_CHANGE, "#token": "token", "#plain_key": "streamKey"})
        values.update({":lease": self.lease_token, ":plain_key": None if self.sealed else self.plain})
        set_clauses.append("#plain_key = :plain_key")
        if self.sealed is not None:
            names["#sealed_key"] = SEALED_STREAM_KEY
            values[":sealed_key"] = self.sealed
            set_clauses.append("#sealed_key = :sealed_key")
        else:
            remove_clauses.append(SEALED_STREAM_KEY)
        remove_clauses.append("#key_change")
        return "#key_change.#token = :lease"

    def assignment_updates(self, channel_id: str) -> list[dict[str, Any]]:
        return [_assignment_key_update(host, channel_id, self.plain, self.sealed) for host in self.hosts]


def _assignment_key_update(host: str, channel_id: str, plain: str | None, sealed: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {":channel": channel_id, ":plain_key": None if sealed else plain}
    expression = "SET streamKey = :plain_key"
    if sealed is not None:
        values[":sealed_key"] = sealed
        expression += f", {SEALED_STREAM_KEY} = :sealed_key"
    else:
        expression += f" REMOVE {SEALED_STREAM_KEY}"
    # Only while the record is still this channel's assignment (an update would create a missing one).
    return update(assignment_key(host), expression, condition="channelId = :channel", values=values)


def hosts_of(channel: Channel, assignments: dict[str, Assignment]) -> tuple[str, ...]:
    """The channel's hosts whose assignment record is (still) for this channel."""
    return tuple(sorted(h for h in channel.assigned_host_ids
                        if h in assignments and assignments[h].channel_id == channel.id))


class StreamKeyRecords:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def begin_key_change(self, channel: Channel, hosts: tuple[str, ...], token: str, now: datetime,
                         expected_state: ChannelState | None = None) -> None:
        """Take the lease and clear the key from the channel and its assignments: one transaction,
        conditional on no other live lease, on the state (when given) and, by default, not LIVE.
        KeyChangeInProgress when refused."""
        expired = format_timestamp(now - timedelta(seconds=LEASE_SECONDS))
        values: dict[str, Any] = {":lease": {"token": token, "startedAt": format_timestamp(now)},
                                  ":expired": expired, ":null": None}
        names = {"#key_change": KEY_CHANGE, "#started": "startedAt", "#state": "state"}
        condition = ("attribute_exists(pk) AND (attribute_not_exists(#key_change) OR #key_change.#started < :expired)")
        if expected_state is None:
            condition += " AND #state <> :live"
            values[":live"] = ChannelState.LIVE.value
        else:
            condition += " AND #state = :expected"
            values[":expected"] = expected_state.value
        unit = UnitOfWork(self.table)
        unit.add(KEY_LEASE_PART, [update(channel_key(channel.id),
                                         f"SET #key_change = :lease, streamKey = :null REMOVE {SEALED_STREAM_KEY}",
                                         condition=condition, names=names, values=values)])
        unit.add(ASSIGNMENT_KEYS_PART, [_assignment_key_update(host, channel.id, None, None) for host in hosts])
        try:
            unit.commit()
        except TransactionRefused:
            raise KeyChangeInProgress from None

    def abandon_key_change(self, channel_id: str, token: str) -> None:
        """Release the lease after a failed step (the records stay keyless)."""
        try:
            commit_one(self.table, KEY_LEASE_PART, [update(
                channel_key(channel_id), "REMOVE #key_change",
                condition="#key_change.#token = :lease",
                names={"#key_change": KEY_CHANGE, "#token": "token"}, values={":lease": token},
            )])
        except TransactionRefused:
            pass  # not ours any more

    def write_key(self, channel_id: str, write: KeyWrite) -> None:
        """Write a new key to the channel and its assignments and release the lease (no state change).
        LeaseLost when the lease is no longer this request's."""
        set_clauses: list[str] = []
        remove_clauses: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        condition = write.add_to(set_clauses, remove_clauses, names, values)
        expression = "SET " + ", ".join(set_clauses) + " REMOVE " + ", ".join(remove_clauses)
        unit = UnitOfWork(self.table)
        unit.add(KEY_LEASE_PART, [update(channel_key(channel_id), expression,
                                         condition=f"attribute_exists(pk) AND {condition}", names=names, values=values)])
        unit.add(ASSIGNMENT_KEYS_PART, write.assignment_updates(channel_id))
        try:
            unit.commit()
        except TransactionRefused as refused:
            if refused.includes(KEY_LEASE_PART):
                raise LeaseLost from None
            raise KeyChangeInProgress from None  # an assignment moved meanwhile: retry
