"""The capacity counter and the reservations of creates (CONTRACT.md section 1): a create reserves a
slot, conditional on `used < limit`, with the PENDING record that makes every later crash
recoverable; the counter also keeps how many channels are in each state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.capacity import CapacityCounts
from domain.clock import format_timestamp, parse_timestamp
from domain.model import ChannelState
from data.dynamo import DynamoTable, delete, put, update
from data.idempotency import IDEMPOTENCY_PART, IdempotencyKeyTaken, IdempotencyRecords
from data.table import COUNTER_ENTITY, COUNTER_KEY, PENDING_CREATE_ENTITY, pending_create_key
from data.unit_of_work import TransactionRefused, UnitOfWork

STATE_COUNTERS = {ChannelState.IDLE: "idle", ChannelState.LIVE: "live", ChannelState.OFFLINE: "offline"}
# The parts the counter's and a PENDING record's writes take in a unit of work.
CAPACITY_PART = "capacity"
PENDING_CREATE_PART = "pending-create"


def capacity_counts_of(counter: dict[str, Any]) -> CapacityCounts:
    """The counts the capacity counter item holds (zero where it holds none)."""
    return CapacityCounts(
        used=int(counter.get("used", 0)),
        by_state={state: int(counter.get(name, 0)) for state, name in STATE_COUNTERS.items()},
    )


class CapacityFull(Exception):
    """The capacity counter refused a reservation: `used >= limit`."""


class ReservationLost(Exception):
    """The PENDING record of a create is gone: `reconcile` released its slot as a dead create's."""


@dataclass(frozen=True)
class PendingCreate:
    channel_id: str
    channel_name: str
    idempotency_key: str | None
    created_at: datetime | None


class CapacityStore:
    """The one door to the capacity counter and PENDING records (ChannelsBackend.capacity)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def read_capacity_counts(self) -> CapacityCounts:
        return capacity_counts_of(self.table.get(COUNTER_KEY, consistent=False) or {})

    def read_counter_item(self) -> dict[str, Any] | None:
        return self.table.get(COUNTER_KEY)

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

    # What other transactions write on the counter

    def add_state_move_to(self, unit: UnitOfWork, from_state: ChannelState, to_state: ChannelState) -> None:
        """One channel moves from `from_state` to `to_state` (a state change)."""
        unit.add(CAPACITY_PART, [update(
            COUNTER_KEY,
            "ADD #from :minus_one, #to :one",
            names={"#from": STATE_COUNTERS[from_state], "#to": STATE_COUNTERS[to_state]},
            values={":minus_one": -1, ":one": 1},
        )])

    def add_freed_to(self, unit: UnitOfWork, state: ChannelState) -> None:
        """A channel in `state` is deleted: its slot is given back."""
        unit.add(CAPACITY_PART, [update(
            COUNTER_KEY,
            "ADD #used :minus_one, #state_count :minus_one",
            names={"#used": "used", "#state_count": STATE_COUNTERS[state]},
            values={":minus_one": -1},
        )])

    def add_settled_to(self, unit: UnitOfWork, channel_id: str, state: ChannelState) -> None:
        """A reserved create wrote its channel record (in `state`): its PENDING record goes, conditional
        on being there (ReservationLost otherwise), and the state is counted."""
        unit.add(CAPACITY_PART, [update(COUNTER_KEY, "ADD #state_count :one",
                                        names={"#state_count": STATE_COUNTERS[state]}, values={":one": 1})])
        unit.add(PENDING_CREATE_PART, [delete(pending_create_key(channel_id), condition="attribute_exists(pk)")])

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
        unit = UnitOfWork(self.table)
        # The limit holds under concurrency because this condition and the increment are one write.
        unit.add(CAPACITY_PART, [update(
            COUNTER_KEY,
            "SET entityType = :entity ADD #used :one",
            condition="attribute_not_exists(#used) OR #used < :limit",
            names={"#used": "used"},
            values={":one": 1, ":limit": limit, ":entity": COUNTER_ENTITY},
        )])
        unit.add(PENDING_CREATE_PART, [put(
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
        )])
        if idempotency is not None:
            key, fingerprint = idempotency
            IdempotencyRecords(self.table).add_take_to(unit, key, fingerprint, channel_id, now)
        try:
            unit.commit()
        except TransactionRefused as refused:
            if refused.includes(IDEMPOTENCY_PART):
                raise IdempotencyKeyTaken from None
            raise CapacityFull from None

    def add_release_to(self, unit: UnitOfWork, channel_id: str) -> None:
        """Remove a create's PENDING record (conditional on it being there) and give its slot back."""
        unit.add(PENDING_CREATE_PART, [delete(pending_create_key(channel_id), condition="attribute_exists(pk)")])
        unit.add(CAPACITY_PART, [update(COUNTER_KEY, "ADD #used :minus_one", names={"#used": "used"},
                                        values={":minus_one": -1})])

    def release_channel_slot(self, channel_id: str, idempotency_key_value: str | None) -> bool:
        """Undo `reserve_channel_slot`: remove the PENDING record, give the slot back, free the key.

        Conditional on the PENDING record: whoever removes it (the failed create, or `reconcile`)
        gives the slot back, exactly once. False when it was already gone.
        """
        return IdempotencyRecords(self.table).commit_freeing(
            lambda unit: self.add_release_to(unit, channel_id), PENDING_CREATE_PART, idempotency_key_value, channel_id
        )

    def set_counters(self, expected_used: int | None, counts: CapacityCounts) -> bool:
        """Repair the capacity counters, conditional on `used` being what the caller read."""
        condition = "attribute_not_exists(#used)" if expected_used is None else "#used = :expected"
        values: dict[str, Any] = {":used": counts.used, ":entity": COUNTER_ENTITY}
        values.update({f":{name}": counts.by_state.get(state, 0) for state, name in STATE_COUNTERS.items()})
        if expected_used is not None:
            values[":expected"] = expected_used
        unit = UnitOfWork(self.table)
        unit.add(CAPACITY_PART, [update(
            COUNTER_KEY,
            "SET entityType = :entity, #used = :used, #idle = :idle, #live = :live, #offline = :offline",
            condition=condition,
            names={"#used": "used", "#idle": "idle", "#live": "live", "#offline": "offline"},
            values=values,
        )])
        try:
            unit.commit()
        except TransactionRefused:
            return False
        return True
