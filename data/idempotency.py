"""Idempotency records: a create's key, taken with its capacity slot and completed with its channel
record (CONTRACT.md section 2); an approval's key is one too (data.approvals)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.clock import format_timestamp
from data.dynamo import DynamoTable, delete, put, update
from data.table import EXPIRY_ATTRIBUTE, IDEMPOTENCY_ENTITY, idempotency_key
from data.unit_of_work import TransactionRefused, UnitOfWork

IDEMPOTENCY_KEY_LIFETIME_SECONDS = 24 * 60 * 60
# The part an idempotency record's write takes in a unit of work.
IDEMPOTENCY_PART = "idempotency-key"


class IdempotencyKeyTaken(Exception):
    """Another create already holds this idempotency key."""


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str
    fingerprint: str
    channel_id: str
    complete: bool


class IdempotencyRecords:
    """The one door to idempotency records (ChannelsBackend.idempotency_records)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

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

    def records(self, entity_index: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every idempotency record, as (key, item) (for `reconcile`, not for requests)."""
        for item in self.table.records_of(entity_index, IDEMPOTENCY_ENTITY):
            yield str(item["pk"]).removeprefix("idempotency#"), item

    def add_take_to(self, unit: UnitOfWork, key: str, fingerprint: str, channel_id: str, now: datetime) -> None:
        """Take `key` for a create of `channel_id` (PENDING until its record is written)."""
        unit.add(IDEMPOTENCY_PART, [put(
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
        )])

    def add_completion_to(self, unit: UnitOfWork, key: str, channel_id: str) -> None:
        """Mark `key` COMPLETE, conditional on it still naming `channel_id`."""
        unit.add(IDEMPOTENCY_PART, [update(
            idempotency_key(key),
            "SET #status = :complete",
            condition="channelId = :channel_id",
            names={"#status": "status"},
            values={":complete": "COMPLETE", ":channel_id": channel_id},
        )])

    def add_removal_to(self, unit: UnitOfWork, key: str, channel_id: str) -> None:
        """Free `key`, conditional on it still naming `channel_id` (not taken over after expiring)."""
        unit.add(IDEMPOTENCY_PART, [
            delete(idempotency_key(key), condition="channelId = :channel_id", values={":channel_id": channel_id})
        ])

    def commit_freeing(self, add_own: Callable[[UnitOfWork], None], own_part: str, key: str | None,
                       channel_id: str) -> bool:
        """Commit what `add_own` adds to a unit, freeing `key` (if any) in the same transaction. When
        only the key refused (taken over after expiring), the own items are committed alone. False
        when `own_part` refused (it is gone or was changed: nothing to undo)."""
        unit = UnitOfWork(self.table)
        add_own(unit)
        if key is not None:
            self.add_removal_to(unit, key, channel_id)
        try:
            unit.commit()
        except TransactionRefused as refused:
            if refused.includes(own_part):
                return False
            alone = UnitOfWork(self.table)
            add_own(alone)
            try:
                alone.commit()
            except TransactionRefused:
                return False
        return True

    def forget(self, key: str, channel_id: str) -> None:
        """Remove `key` if it still names `channel_id`; nothing when it was taken over or removed."""
        unit = UnitOfWork(self.table)
        self.add_removal_to(unit, key, channel_id)
        try:
            unit.commit()
        except TransactionRefused:
            pass  # taken over or removed meanwhile: nothing to forget
