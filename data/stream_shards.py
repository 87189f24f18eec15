"""Which shards of the table's stream to read, and from where: the stream reader's rules, with no I/O.

DynamoDB Streams splits a stream into shards, each a run of records in write order. A shard closes
(DescribeStream gives it an EndingSequenceNumber, GetRecords stops giving a NextShardIterator) and
children take over its items' later changes; a child names its parent. AWS's rule for keeping each
item's changes in order: read a child only after its parent is finished (docs/live-updates.md, "The
feed"). These functions decide, from what DescribeStream says and what the reader has done, which
shards are readable now and where each starts; data.table_stream does the calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class IteratorType(StrEnum):
    """GetShardIterator's ShardIteratorType values the reader uses."""

    # Just after the newest record: a reader's first start (the feed begins "now").
    LATEST = "LATEST"
    # The oldest record still kept (24 hours): a shard born after the start, a child after a split.
    TRIM_HORIZON = "TRIM_HORIZON"
    # Just after a record already delivered: resuming from a checkpoint.
    AFTER_SEQUENCE_NUMBER = "AFTER_SEQUENCE_NUMBER"


@dataclass(frozen=True)
class Shard:
    """One shard as DescribeStream lists it."""

    shard_id: str
    parent_id: str | None = None
    # DescribeStream gives an EndingSequenceNumber once the shard takes no more records.
    closed: bool = False


@dataclass(frozen=True)
class ShardStart:
    """Where GetShardIterator starts reading one shard."""

    iterator_type: IteratorType
    sequence_number: str | None = None


@dataclass(frozen=True)
class StreamCheckpoints:
    """How far a reader got, enough for another reader to go on from there with nothing lost and
    nothing repeated (data.table_stream.TableStream's `checkpoints`).

    `positions`: per shard, the sequence number of the last record handled (delivered, or passed over
    as older than the feed) — advanced only after `deliver` returned. `finished`: shards read to
    their end, or closed before the feed began. `began_at`: when the feed began; a record DynamoDB
    dates earlier is never delivered (a shard begun at LATEST and left with no position is read
    again from its oldest record, and these are passed over).
    """

    began_at: datetime
    positions: Mapping[str, str] = field(default_factory=dict)
    finished: frozenset[str] = frozenset()

    def after(self, shard_id: str, sequence_number: str) -> StreamCheckpoints:
        return StreamCheckpoints(self.began_at, {**self.positions, shard_id: sequence_number}, self.finished)

    def forget(self, shard_id: str) -> StreamCheckpoints:
        """No position for this shard (it was trimmed away: it is read again from its oldest record)."""
        positions = {shard: number for shard, number in self.positions.items() if shard != shard_id}
        return StreamCheckpoints(self.began_at, positions, self.finished)

    def within(self, shard_ids: set[str]) -> StreamCheckpoints:
        """Only what concerns these shards (those still listed: the others were trimmed away)."""
        positions = {shard: number for shard, number in self.positions.items() if shard in shard_ids}
        return StreamCheckpoints(self.began_at, positions, self.finished & shard_ids)

    def finish(self, *shard_ids: str) -> StreamCheckpoints:
        return StreamCheckpoints(self.began_at, self.positions, self.finished | set(shard_ids))

    def start_of(self, shard_id: str) -> ShardStart | None:
        """AFTER_SEQUENCE_NUMBER from this shard's position; None when it has none."""
        sequence_number = self.positions.get(shard_id)
        if sequence_number is None:
            return None
        return ShardStart(IteratorType.AFTER_SEQUENCE_NUMBER, sequence_number)

    def precedes_feed(self, approximate_at: datetime, leeway: timedelta) -> bool:
        """Whether a record DynamoDB dates `approximate_at` surely came before the feed began.

        `leeway` is how far DynamoDB's clock may be behind this process's. DynamoDB Streams rounds
        ApproximateCreationDateTime down to the second (an emulator may not: a time with a fraction of
        a second is taken as exact), so a whole-second time is compared with the second the feed began
        in. A write after the start is never passed over; one shortly before it may be delivered (it
        was never delivered before: no repeat)."""
        began = self.began_at - leeway
        if approximate_at.microsecond == 0:
            began = began.replace(microsecond=0)
        return approximate_at < began


@dataclass(frozen=True)
class ShardPlan:
    """What to do after a DescribeStream: shards to start reading (and where), shards to count as
    finished without reading them (closed before the feed began)."""

    start: Mapping[str, ShardStart]
    already_finished: frozenset[str]


def plan_shards(
    shards: Iterable[Shard],
    *,
    checkpoints: StreamCheckpoints,
    reading: Iterable[str],
    first_start: bool,
) -> ShardPlan:
    """Which listed shards to start reading now, and where.

    - A shard already being read, or finished, is left alone.
    - A shard with a checkpoint resumes just after it.
    - On the first listing of a reader with no checkpoints (`first_start`), the feed begins now: every
      open shard starts at LATEST, and a closed shard is the past: finished, never read.
    - Any other shard is read from TRIM_HORIZON once its parent is finished, or at once when its
      parent is not listed (trimmed after 24 hours, or none): a child is never read before its parent
      has given all its records, so each item's changes stay in order. (A reader resumed from
      checkpoints that read an open shard without ever delivering from it reads it from there too;
      `StreamCheckpoints.precedes_feed` passes over what came before the feed.)
    """
    listed = {shard.shard_id: shard for shard in shards}
    busy = set(reading) | checkpoints.finished
    start: dict[str, ShardStart] = {}
    finished: set[str] = set()
    for shard in listed.values():
        if shard.shard_id in busy:
            continue
        resumed = checkpoints.start_of(shard.shard_id)
        if resumed is not None:
            start[shard.shard_id] = resumed
        elif first_start:
            if shard.closed:
                finished.add(shard.shard_id)
            else:
                start[shard.shard_id] = ShardStart(IteratorType.LATEST)
        elif shard.parent_id is None or shard.parent_id not in listed or shard.parent_id in checkpoints.finished:
            start[shard.shard_id] = ShardStart(IteratorType.TRIM_HORIZON)
    return ShardPlan(start=start, already_finished=frozenset(finished))


def shard_of(description: Mapping[str, object]) -> Shard:
    """A Shard from one entry of DescribeStream's `Shards`."""
    numbers = description.get("SequenceNumberRange") or {}
    assert isinstance(numbers, Mapping)
    parent = description.get("ParentShardId")
    return Shard(
        shard_id=str(description["ShardId"]),
        parent_id=str(parent) if parent else None,
        closed="EndingSequenceNumber" in numbers,
    )
