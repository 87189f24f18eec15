"""One transaction's items, gathered from any store under names, committed once (docs/architecture.md).

Stores add their conditional writes to a unit under a part name (`assignments.add_to(unit, ...)`),
so a refused transaction says which named conditions failed (`refused.includes("assignment")`)
rather than positions that shift when an item is added in front. The commit goes through
DynamoTable.transact: its retries on conflicts and its AWS errors turned into the service's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from data.dynamo import DynamoTable, TransactionCancelled

TRANSACTION_ITEMS_MAX = 100  # DynamoDB's limit per TransactWriteItems


class TransactionTooLarge(ValueError):
    """More items than one DynamoDB transaction holds: a bug of the caller, refused before any write."""


@dataclass(frozen=True)
class TransactionRefused(Exception):
    """The transaction was refused; `failed_parts` names the parts whose condition failed."""

    failed_parts: frozenset[str]

    def includes(self, *parts: str) -> bool:
        """Whether a condition of any of `parts` failed."""
        return not self.failed_parts.isdisjoint(parts)


class UnitOfWork:
    """The items of one transaction, each under the name of the part it belongs to (several items may
    share a part: a host's slots, the assignments a key change rewrites), sent in the order added:
    the table's stream records, and so the events subscribers see, follow it (docs/live-updates.md)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table
        self._items: list[Mapping[str, Any]] = []
        self._parts: list[str] = []
        self._committed = False

    def __len__(self) -> int:
        return len(self._items)

    @property
    def parts(self) -> frozenset[str]:
        return frozenset(self._parts)

    def add(self, part: str, items: Iterable[Mapping[str, Any]]) -> None:
        """Add `items` (transaction entries of data.dynamo) under `part`; TransactionTooLarge when the
        unit would exceed DynamoDB's 100 items."""
        if self._committed:
            raise RuntimeError("This unit of work is committed already: start a new one.")
        added = list(items)
        if len(self._items) + len(added) > TRANSACTION_ITEMS_MAX:
            raise TransactionTooLarge(
                f"A transaction holds at most {TRANSACTION_ITEMS_MAX} items: adding {len(added)} of part "
                f"'{part}' to {len(self._items)} makes {len(self._items) + len(added)}."
            )
        self._items += added
        self._parts += [part] * len(added)

    def commit(self) -> None:
        """Write every item, all or nothing: TransactionRefused names the parts whose condition failed."""
        if self._committed:
            raise RuntimeError("This unit of work is committed already: start a new one.")
        self._committed = True
        if not self._items:
            return
        try:
            self.table.transact(self._items)
        except TransactionCancelled as cancelled:
            raise TransactionRefused(frozenset(self._parts[index] for index in cancelled.failed)) from None


def commit_one(table: DynamoTable, part: str, items: Iterable[Mapping[str, Any]]) -> None:
    """A unit of one part, committed: for a store's own single-kind writes."""
    unit = UnitOfWork(table)
    unit.add(part, items)
    unit.commit()
