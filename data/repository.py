"""The one door to the channel table: every read and every invariant-guarding write.

Each write that guards an invariant is a condition expression or a transaction, so the invariants
hold under concurrent requests (CONTRACT.md sections 1 and 2):
- the channel limit: creates reserve a slot on the capacity counter, conditional on `used < limit`;
- one channel per host: the assignment record's key is the host, put only when absent;
- one host per HOST_OWNED channel: the channel's `assignedHostIds` must be absent to add one;
- one broadcast counted once: a state change is conditional on the state (and session) it was
  planned from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.capacity import CapacityCounts
from domain.clock import format_timestamp, parse_timestamp
from domain.model import Assignment, Channel, ChannelState
from data.assignments import ASSIGNMENT_PUT, assignment_operations
from data.dynamo import DynamoTable, TransactionCancelled, delete, put, update
from data.listing_indexes import ListingIndexes
from data.pagination import ChannelListing
from data.records import (
    assignment_from_item,
    channel_from_item,
    new_channel_item,
)
from data.state_changes import STATE_COUNTERS as _STATE_COUNTERS, StaleChannel
from data.table import (
    CHANNEL_ENTITY,
    PENDING_CREATE_ENTITY,
    pending_create_key,
    COUNTER_ENTITY,
    COUNTER_KEY,
    EXPIRY_ATTRIBUTE,
    IDEMPOTENCY_ENTITY,
    assignment_key,
    channel_key,
    idempotency_key,
)

IDEMPOTENCY_KEY_LIFETIME_SECONDS = 24 * 60 * 60


class CapacityFull(Exception):
    """The capacity counter refused a reservation: `used >= limit`."""


class IdempotencyKeyTaken(Exception):
    """Another create already holds this idempotency key."""


class HostAlreadyAssigned(Exception):
    """The host has an assignment record already."""


class ChannelUnavailable(Exception):
    """The channel record is gone, (HOST_OWNED) it already has a host, or its stream key changed."""


class ChannelIsLive(Exception):
    """The channel is LIVE, so its hosts cannot change."""


class AssignmentGone(Exception):
    """The assignment to remove does not exist (any more) for that channel."""


class AlongsideChanged(Exception):
    """What was to be written alongside an assignment's removal refused (its slots changed meanwhile)."""


class ReservationLost(Exception):
    """The PENDING record of a create is gone: `reconcile` released its slot as a dead create's."""


@dataclass(frozen=True)
class PendingCreate:
    channel_id: str
    channel_name: str
    idempotency_key: str | None
    created_at: datetime | None


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str
    fingerprint: str
    channel_id: str
    complete: bool


@dataclass(frozen=True)
class ChannelPage:
    channels: list[tuple[Channel, str]]  # each channel with its cursor
    has_next_page: bool
    items_read: int


def capacity_counts_of(counter: dict[str, Any]) -> CapacityCounts:
    """The counts the capacity counter item holds (zero where it holds none)."""
    return CapacityCounts(
        used=int(counter.get("used", 0)),
        by_state={state: int(counter.get(name, 0)) for state, name in _STATE_COUNTERS.items()},
    )


class ChannelRepository:
    """Channels, assignments, capacity and creates; state changes and IVS events are
    data.state_changes.StateChangeStorage's (`ChannelsBackend.state_changes`)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table
        self.listing_indexes = ListingIndexes(table)

    # Reads

    def get_channel(self, channel_id: str, *, consistent: bool = True) -> Channel | None:
        item = self.table.get(channel_key(channel_id), consistent=consistent)
        return channel_from_item(item) if item else None

    def get_channels(self, channel_ids: list[str]) -> dict[str, Channel]:
        items = self.table.batch_get([channel_key(channel_id) for channel_id in channel_ids])
        return {channel.id: channel for channel in map(channel_from_item, items)}

    def get_assignment(self, host_user_id: str) -> Assignment | None:
        item = self.table.get(assignment_key(host_user_id))
        return assignment_from_item(item) if item else None

    def get_assignments(self, host_user_ids: list[str]) -> dict[str, Assignment]:
        items = self.table.batch_get([assignment_key(host) for host in host_user_ids])
        return {assignment.host_user_id: assignment for assignment in map(assignment_from_item, items)}

    def list_channels(self, state: ChannelState | None, first: int, after: str | None) -> ChannelPage:
        """Newest first, one Query of at most `first + 1` items (the extra one says a next page exists)."""
        listing = ChannelListing.of(state)
        items, items_read = self.listing_indexes.read_page(listing.index, listing.page_query(first, after), first)
        page = items[:first]
        return ChannelPage(
            channels=[(channel_from_item(item), listing.cursor_of(item)) for item in page],
            has_next_page=len(items) > first,
            items_read=items_read,
        )

    def read_capacity_counts(self) -> CapacityCounts:
        return capacity_counts_of(self.table.get(COUNTER_KEY, consistent=False) or {})

    def get_idempotency_record(self, key: str, now: datetime) -> IdempotencyRecord | None:
        """The live record of an idempotency key; an expired one (TTL deletes lazily) counts as absent."""
        item = self.table.get(idempotency_key(key))
        if not item or int(item.get(EXPIRY_ATTRIBUTE, 0)) <= int(now.timestamp()):
            return None
        return IdempotencyRecord(
            key=key,
            fingerprint=str(item["fingerprint"]),
            channel_id=str(item["channelId"]),
            complete=item.get("status") == "COMPLETE",
        )

    # Create: reserve a slot, then (after IVS) save the record; or release the slot

    def reserve_channel_slot(
        self,
        channel_id: str,
        limit: int,
        now: datetime,
        idempotency: tuple[str, str] | None,
        *,
        channel_name: str = "",
        ivs_name: str = "",
    ) -> None:
        """Take one slot of the capacity counter, write the PENDING record of the create, and take
        the idempotency key (if any): one transaction.

        The PENDING record (`channel#{id}` / `pending`) is what makes every later crash recoverable:
        `reconcile` finds it, and the IVS channel tagged with the same id. It is invisible to the
        queries and counts against capacity until the create finishes or is undone.

        Raises IdempotencyKeyTaken when the key is held (checked first: a retry must get its
        channel even when capacity has filled since) and CapacityFull when `used >= limit`.
        """
        operations = [
            # The limit holds under concurrency because this condition and the increment are one write.
            update(
                COUNTER_KEY,
                "SET entityType = :entity ADD #used :one",
                condition="attribute_not_exists(#used) OR #used < :limit",
                names={"#used": "used"},
                values={":one": 1, ":limit": limit, ":entity": COUNTER_ENTITY},
            ),
            put(
                {
                    **pending_create_key(channel_id),
                    "entityType": PENDING_CREATE_ENTITY,
                    "channelId": channel_id,
                    "channelName": channel_name,
                    "ivsName": ivs_name,
                    "idempotencyKey": idempotency[0] if idempotency else None,
                    "createdAt": format_timestamp(now),
                },
                condition="attribute_not_exists(pk)",
            ),
        ]
        if idempotency is not None:
            key, fingerprint = idempotency
            operations.append(
                put(
                    {
                        **idempotency_key(key),
                        "entityType": IDEMPOTENCY_ENTITY,
                        "fingerprint": fingerprint,
                        "channelId": channel_id,
                        "status": "PENDING",
                        "createdAt": format_timestamp(now),
                        EXPIRY_ATTRIBUTE: int(now.timestamp()) + IDEMPOTENCY_KEY_LIFETIME_SECONDS,
                    },
                    # Absent, or expired but not yet swept by TTL.
                    condition="attribute_not_exists(pk) OR #expires <= :now",
                    names={"#expires": EXPIRY_ATTRIBUTE},
                    values={":now": int(now.timestamp())},
                )
            )
        try:
            self.table.transact(operations)
        except TransactionCancelled as cancelled:
            if 2 in cancelled.failed:
                raise IdempotencyKeyTaken from None
            raise CapacityFull from None

    def release_channel_slot(self, channel_id: str, idempotency_key_value: str | None) -> bool:
        """Undo `reserve_channel_slot`: remove the PENDING record, give the slot back, free the key.

        Conditional on the PENDING record: whoever removes it (the failed create, or `reconcile`)
        gives the slot back, exactly once. False when it was already gone.
        """
        operations = [
            delete(pending_create_key(channel_id), condition="attribute_exists(pk)"),
            update(COUNTER_KEY, "ADD #used :minus_one", names={"#used": "used"}, values={":minus_one": -1}),
        ]
        if idempotency_key_value is not None:
            operations.append(
                delete(
                    idempotency_key(idempotency_key_value),
                    condition="channelId = :channel_id",
                    values={":channel_id": channel_id},
                )
            )
        try:
            self.table.transact(operations)
        except TransactionCancelled as cancelled:
            if 0 in cancelled.failed:
                return False
            # The key was taken over after expiring: release the slot alone.
            try:
                self.table.transact(operations[:2])
            except TransactionCancelled:
                return False
        return True

    def save_new_channel(self, channel: Channel, idempotency_key_value: str | None) -> None:
        """Write the record of a channel whose slot is reserved, remove its PENDING record, and
        complete its idempotency key. ReservationLost when the PENDING record is gone (`reconcile`
        judged the create dead and released its slot)."""
        operations = [
            put(new_channel_item(channel), condition="attribute_not_exists(pk)"),
            update(COUNTER_KEY, "ADD #state_count :one", names={"#state_count": _STATE_COUNTERS[channel.state]},
                   values={":one": 1}),
            delete(pending_create_key(channel.id), condition="attribute_exists(pk)"),
        ]
        if idempotency_key_value is not None:
            operations.append(
                update(
                    idempotency_key(idempotency_key_value),
                    "SET #status = :complete",
                    condition="channelId = :channel_id",
                    names={"#status": "status"},
                    values={":complete": "COMPLETE", ":channel_id": channel.id},
                )
            )
        try:
            self.table.transact(operations)
        except TransactionCancelled as cancelled:
            if 2 in cancelled.failed:
                raise ReservationLost from None
            raise

    def list_pending_creates(self, entity_index: str) -> list[PendingCreate]:
        return [
            PendingCreate(
                channel_id=str(item["channelId"]),
                channel_name=str(item.get("channelName") or ""),
                idempotency_key=item.get("idempotencyKey") or None,
                created_at=parse_timestamp(item.get("createdAt")),
            )
            for item in self.table.records_of(entity_index, PENDING_CREATE_ENTITY)
        ]

    def list_channel_records(self, entity_index: str) -> list[Channel]:
        """Every channel record (for reports and repairs, not for requests)."""
        return [channel_from_item(item) for item in self.table.records_of(entity_index, CHANNEL_ENTITY)]

    def read_counter_item(self) -> dict[str, Any] | None:
        return self.table.get(COUNTER_KEY)

    def set_counters(self, expected_used: int | None, counts: CapacityCounts) -> bool:
        """Repair the capacity counters, conditional on `used` being what the caller read."""
        condition = "attribute_not_exists(#used)" if expected_used is None else "#used = :expected"
        values: dict[str, Any] = {":used": counts.used, ":entity": COUNTER_ENTITY}
        values.update({f":{name}": counts.by_state.get(state, 0) for state, name in _STATE_COUNTERS.items()})
        if expected_used is not None:
            values[":expected"] = expected_used
        try:
            self.table.transact(
                [
                    update(
                        COUNTER_KEY,
                        "SET entityType = :entity, #used = :used, #idle = :idle, #live = :live, #offline = :offline",
                        condition=condition,
                        names={"#used": "used", "#idle": "idle", "#live": "live", "#offline": "offline"},
                        values=values,
                    )
                ]
            )
        except TransactionCancelled:
            return False
        return True

    # Assignments

    def add_assignment(self, assignment: Assignment, channel: Channel) -> None:
        """Put the host's assignment record and add the host to the channel, both or neither."""
        try:
            self.table.transact(assignment_operations(assignment, channel))
        except TransactionCancelled as cancelled:
            if ASSIGNMENT_PUT in cancelled.failed:
                raise HostAlreadyAssigned from None
            raise ChannelUnavailable from None

    def remove_assignment(self, assignment: Assignment, channel_exists: bool,
                          alongside: Sequence[dict[str, Any]] = ()) -> None:
        """Delete the assignment record and take the host off the channel, unless the channel is LIVE,
        with `alongside` (the host's slots cancelled, conditional on the channel's schedule) in the
        same transaction: AlongsideChanged when one of those refused."""
        operations = [
            delete(
                assignment_key(assignment.host_user_id),
                condition="channelId = :channel_id",
                values={":channel_id": assignment.channel_id},
            )
        ]
        if channel_exists:
            operations.append(
                update(
                    channel_key(assignment.channel_id),
                    "DELETE assignedHostIds :host",
                    condition="attribute_exists(pk) AND #state <> :live",
                    names={"#state": "state"},
                    values={":host": {assignment.host_user_id}, ":live": ChannelState.LIVE.value},
                )
            )
        own = len(operations)
        try:
            self.table.transact([*operations, *alongside])
        except TransactionCancelled as cancelled:
            if 0 in cancelled.failed:
                raise AssignmentGone from None
            if any(index >= own for index in cancelled.failed):
                raise AlongsideChanged from None
            raise ChannelIsLive from None

    def delete_channel_record(self, channel_id: str) -> None:
        """Delete an OFFLINE channel without hosts and give its capacity slot back, both or neither."""
        try:
            self.table.transact(
                [
                    delete(
                        channel_key(channel_id),
                        condition="#state = :offline AND attribute_not_exists(assignedHostIds)",
                        names={"#state": "state"},
                        values={":offline": ChannelState.OFFLINE.value},
                    ),
                    update(
                        COUNTER_KEY,
                        "ADD #used :minus_one, #offline :minus_one",
                        names={"#used": "used", "#offline": _STATE_COUNTERS[ChannelState.OFFLINE]},
                        values={":minus_one": -1},
                    ),
                ]
            )
        except TransactionCancelled:
            raise StaleChannel from None
