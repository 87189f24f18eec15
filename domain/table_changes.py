"""One change to one item of the channel table, as the table's DynamoDB stream reports it.

The live updates (docs/live-updates.md) are built from these: the stream reader (data.table_stream)
turns each stream record into a `TableChange`, and whatever listens is handed them in batches, in the
stream's order for each item. Plain values only, so that the rules that turn a change into an event
need neither boto3 nor Strawberry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class ChangeKind(StrEnum):
    INSERT = "INSERT"
    MODIFY = "MODIFY"
    REMOVE = "REMOVE"


@dataclass(frozen=True)
class TableChange:
    kind: ChangeKind
    # The item's key (`pk`, `sk`), as plain Python values.
    keys: Mapping[str, Any]
    # The item before and after the change, as plain Python values (boto3's TypeDeserializer: numbers
    # are Decimal). `old` is None on INSERT, `new` is None on REMOVE.
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    # Where the change sits in the stream: the reader's checkpoint after delivering it.
    shard_id: str
    sequence_number: str
    # DynamoDB's ApproximateCreationDateTime: when the write happened (to the second or better).
    approximate_at: datetime


Deliver = Callable[[Sequence[TableChange]], Awaitable[None]]


class ChangeFeed(Protocol):
    """Where table changes come from: the DynamoDB stream in production and embedded mode, a list in tests."""

    @property
    def began(self) -> bool:
        """Whether `run` has taken its position: every change committed from now on will be delivered
        (one committed before may not be). A live-updates subscription is acknowledged only then."""
        ...

    async def run(self, deliver: Deliver) -> None:
        """Hands every change to `deliver`, batch by batch, until cancelled.

        Each change is delivered once: a change whose `deliver` returned is never delivered again, and
        none is skipped, even when the reader restarts after an error.
        """
        ...
