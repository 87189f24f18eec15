"""The table's DynamoDB stream, read as a ChangeFeed (domain.table_changes): every write to the table,
from whichever process made it, handed to `deliver` as TableChange values.

One reader per process (docs/live-updates.md, "The feed"). It lists the stream's shards
(DescribeStream, page by page), reads each readable shard (data.stream_shards decides which, and from
where) with GetShardIterator and GetRecords every POLL_SECONDS (at once again after a full batch: more
may be waiting), and lists the shards again when one closes (its children take over) and every
LISTING_SECONDS. After each batch `deliver` returned, the shard's position moves past it: that is the
checkpoint a restarted reader goes on from (`TableStream.checkpoints`).

What AWS may answer, and what the reader does:
- ExpiredIteratorException (an iterator is good for 15 minutes): a new one from the position;
- TrimmedDataAccessException (the position is older than the stream keeps, 24 hours): a warning,
  and the shard read from its oldest record;
- ResourceNotFoundException: for a shard, a warning and the shard counted as finished (trimmed away);
  for the stream, the table's current stream looked up again (a stream disabled and enabled anew);
- throttling and any other failure: a warning and a pause, doubling up to BACKOFF_MAX_SECONDS.

boto3 is synchronous: each call runs in a worker thread, one at a time, and a cancelled reader stops at
once (the call in flight is abandoned; its answer would only have been read again).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from domain.table_changes import ChangeKind, Deliver, TableChange
from data.dynamo import from_dynamo
from data.stream_shards import (
    IteratorType,
    ShardStart,
    StreamCheckpoints,
    plan_shards,
    shard_of,
)

__all__ = ["StreamCheckpoints", "StreamMissing", "TableStream", "table_change"]

logger = logging.getLogger("shelcaster.channels.feed")

# The contract wants an event within 2 s p95 (embedded mode): a quiet shard is asked every half second.
POLL_SECONDS = 0.5
# Shards are listed again this often even when none closed (DynamoDB rolls shards over every few hours).
LISTING_SECONDS = 60.0
# ...and this often while no shard is readable (a closed parent's children not listed yet).
LISTING_RETRY_SECONDS = 1.0
# How far DynamoDB's clock may be behind the reader's, when passing over what came before the feed.
CLOCK_LEEWAY = timedelta(seconds=5)
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 10.0
RECORDS_PER_CALL = 1000  # GetRecords' maximum


class StreamMissing(LookupError):
    """The table has no stream to read."""

    def __init__(self, table_name: str) -> None:
        super().__init__(
            f"Table '{table_name}' has no stream; run `shelcaster-channels provision`, which enables it "
            "(NEW_AND_OLD_IMAGES)."
        )


class _ReadFailed(Exception):
    """An AWS call of the reader failed (never one of `deliver`'s errors): pause, then go on."""

    def __init__(self, operation: str, exc: ClientError | BotoCoreError) -> None:
        code = exc.response.get("Error", {}).get("Code", "Error") if isinstance(exc, ClientError) else (
            type(exc).__name__)
        # AWS's name of the operation (get_records: GetRecords), as the logs of AWS errors name it.
        super().__init__(f"{''.join(word.title() for word in operation.split('_'))} failed: {code}")
        self.code = str(code)


@dataclass
class _Reading:
    """A shard being read: where to acquire an iterator when it has no position, and the iterator."""

    start: ShardStart
    iterator: str | None = None


def table_change(record: Mapping[str, Any], shard_id: str) -> TableChange:
    """One GetRecords record as a TableChange (boto3's TypeDeserializer: numbers are Decimal)."""
    data = record["dynamodb"]
    approximate_at = data["ApproximateCreationDateTime"]
    if isinstance(approximate_at, (int, float)):  # a client that does not parse timestamps
        approximate_at = datetime.fromtimestamp(approximate_at, UTC)
    return TableChange(
        kind=ChangeKind(record["eventName"]),
        keys=from_dynamo(data["Keys"]),
        old=from_dynamo(data["OldImage"]) if "OldImage" in data else None,
        new=from_dynamo(data["NewImage"]) if "NewImage" in data else None,
        shard_id=shard_id,
        sequence_number=str(data["SequenceNumber"]),
        approximate_at=approximate_at.astimezone(UTC),
    )


class TableStream:
    """The ChangeFeed over one table's stream.

    `streams` is a `dynamodbstreams` client (data.clients). The stream is `stream_arn`, or the table's
    latest (DescribeTable's LatestStreamArn, through `dynamodb` and `table_name`). Without
    `checkpoints` the feed begins now; with them it goes on from where another reader stopped.

    `reuse_iterators=False` is for the embedded emulator (moto), whose iterators can stop seeing writes
    (after a refused transaction): a fresh iterator from the shard's position for every GetRecords
    (app.bootstrap, docs/live-updates.md); the emulator keeps this process's time (`clock_leeway` 0).

    `run` may be called again after it raised (a failing `deliver`): it goes on from the checkpoints.
    """

    def __init__(
        self,
        streams: Any,
        *,
        stream_arn: str | None = None,
        dynamodb: Any = None,
        table_name: str | None = None,
        checkpoints: StreamCheckpoints | None = None,
        reuse_iterators: bool = True,
        poll_seconds: float = POLL_SECONDS,
        clock_leeway: timedelta = CLOCK_LEEWAY,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if stream_arn is None and (dynamodb is None or table_name is None):
            raise ValueError("TableStream needs stream_arn, or dynamodb and table_name to look it up")
        self._streams = streams
        self._dynamodb = dynamodb
        self._table_name = table_name
        self._stream_arn = stream_arn
        self._arn_given = stream_arn is not None
        self._checkpoints = checkpoints
        self._first_listing = checkpoints is None
        self._reuse_iterators = reuse_iterators
        self._poll_seconds = poll_seconds
        self._clock = clock
        self._clock_leeway = clock_leeway
        self._reading: dict[str, _Reading] = {}
        self._listing_due = True
        self._listed_at = 0.0
        self._failures = 0
        self._began = False

    @property
    def began(self) -> bool:
        """Whether the feed has begun: every shard open at the start has been read once, so every
        write from now on will be delivered (a write made before may not be)."""
        return self._began

    @property
    def checkpoints(self) -> StreamCheckpoints | None:
        """How far the reader got (None before it began): start another reader from these."""
        return self._checkpoints

    async def run(self, deliver: Deliver) -> None:
        """Hand every change to `deliver`, batch by batch (one shard's GetRecords each), until cancelled.

        An error of `deliver` is raised with the batch's position unmoved: nothing of it counts as
        delivered. AWS failures are logged and retried, never raised; a table without a stream is
        (StreamMissing).
        """
        if self._checkpoints is None:
            self._checkpoints = StreamCheckpoints(began_at=self._clock())
        limiter = anyio.CapacityLimiter(1)
        while True:
            try:
                if self._listing_is_due():
                    await self._list_shards(limiter)
                behind = False
                for shard_id in list(self._reading):
                    behind |= await self._read_shard(shard_id, deliver, limiter) >= RECORDS_PER_CALL
                self._failures = 0
                self._began = True
            except _ReadFailed as failed:
                self._failures += 1
                pause = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (self._failures - 1))
                logger.warning("stream reader: %s; trying again in %.1f s", failed, pause)
                await anyio.sleep(pause)
                continue
            if not behind:  # a full batch: more may wait, ask again at once; else every POLL_SECONDS
                await anyio.sleep(self._poll_seconds)

    def _listing_is_due(self) -> bool:
        since = time.monotonic() - self._listed_at
        return self._listing_due or since >= (LISTING_SECONDS if self._reading else LISTING_RETRY_SECONDS)

    async def _call(self, limiter: anyio.CapacityLimiter, operation: str, *, client: Any = None,
                    **kwargs: Any) -> Any:
        """One call of the streams client (or `client`) in a worker thread; its failure as _ReadFailed."""
        method = getattr(client or self._streams, operation)
        try:
            return await anyio.to_thread.run_sync(lambda: method(**kwargs), limiter=limiter, abandon_on_cancel=True)
        except ParamValidationError:
            raise  # a request the reader got wrong: a bug, not AWS failing
        except (ClientError, BotoCoreError) as exc:
            raise _ReadFailed(operation, exc) from exc

    async def _resolve_stream_arn(self, limiter: anyio.CapacityLimiter) -> str:
        if self._stream_arn is None:
            assert self._table_name is not None
            described = await self._call(limiter, "describe_table", client=self._dynamodb, TableName=self._table_name)
            table = described["Table"]
            if not table.get("LatestStreamArn") or not table.get("StreamSpecification", {}).get("StreamEnabled"):
                raise StreamMissing(self._table_name)
            self._stream_arn = str(table["LatestStreamArn"])
        return self._stream_arn

    async def _list_shards(self, limiter: anyio.CapacityLimiter) -> None:
        """DescribeStream page by page; start reading the shards data.stream_shards says are readable."""
        assert self._checkpoints is not None
        arn = await self._resolve_stream_arn(limiter)
        described: list[Mapping[str, Any]] = []
        after: str | None = None
        while True:
            page = {"StreamArn": arn} | ({"ExclusiveStartShardId": after} if after else {})
            try:
                description = (await self._call(limiter, "describe_stream", **page))["StreamDescription"]
            except _ReadFailed as failed:
                if failed.code == "ResourceNotFoundException" and not self._arn_given:
                    self._stream_gone(arn)
                raise
            described.extend(description.get("Shards", []))
            after = description.get("LastEvaluatedShardId")
            if not after:
                break
        shards = [shard_of(shard) for shard in described]
        # A shard no longer listed was trimmed away: nothing more to know of it.
        self._checkpoints = self._checkpoints.within({shard.shard_id for shard in shards} | set(self._reading))
        plan = plan_shards(
            shards,
            checkpoints=self._checkpoints,
            reading=self._reading,
            first_start=self._first_listing,
        )
        self._checkpoints = self._checkpoints.finish(*plan.already_finished)
        for shard_id, start in plan.start.items():
            self._reading[shard_id] = _Reading(start)
        self._first_listing = False
        self._listing_due = False
        self._listed_at = time.monotonic()

    def _stream_gone(self, arn: str) -> None:
        """The stream was disabled: the table's next stream (if enabled anew) is a new one, read whole."""
        assert self._checkpoints is not None
        logger.warning("stream reader: stream %s is gone; looking up the table's stream again", arn)
        self._stream_arn = None
        self._reading.clear()
        self._checkpoints = StreamCheckpoints(began_at=self._checkpoints.began_at)
        self._first_listing = False

    async def _acquire(self, shard_id: str, reading: _Reading, limiter: anyio.CapacityLimiter) -> str:
        assert self._checkpoints is not None and self._stream_arn is not None
        start = self._checkpoints.start_of(shard_id) or reading.start
        arguments = {"StreamArn": self._stream_arn, "ShardId": shard_id, "ShardIteratorType": start.iterator_type.value}
        if start.sequence_number is not None:
            arguments["SequenceNumber"] = start.sequence_number
        iterator = str((await self._call(limiter, "get_shard_iterator", **arguments))["ShardIterator"])
        # From now on, a shard with no position is read again from its oldest record (what came before
        # the feed is passed over), never from LATEST: that would skip what was written meanwhile.
        reading.start = ShardStart(IteratorType.TRIM_HORIZON)
        return iterator

    async def _read_shard(self, shard_id: str, deliver: Deliver, limiter: anyio.CapacityLimiter) -> int:
        """One GetRecords on one shard; the number of records handled (delivered or passed over)."""
        assert self._checkpoints is not None
        reading = self._reading[shard_id]
        try:
            if reading.iterator is None or not self._reuse_iterators:
                reading.iterator = await self._acquire(shard_id, reading, limiter)
            response = await self._call(limiter, "get_records", ShardIterator=reading.iterator, Limit=RECORDS_PER_CALL)
        except _ReadFailed as failed:
            return self._shard_failed(shard_id, reading, failed)
        records: Sequence[Mapping[str, Any]] = response.get("Records", [])
        if records:
            changes = [table_change(record, shard_id) for record in records]
            fresh = [change for change in changes
                     if not self._checkpoints.precedes_feed(change.approximate_at, self._clock_leeway)]
            if fresh:
                # Raised as it is: the position and the iterator stay where they were, so the batch is
                # read again by the next `run` (an iterator may be used again until it expires).
                await deliver(fresh)
            self._checkpoints = self._checkpoints.after(shard_id, changes[-1].sequence_number)
        reading.iterator = response.get("NextShardIterator")
        if reading.iterator is None:
            # Closed and read to its end: its children (listed next) are readable now.
            del self._reading[shard_id]
            self._checkpoints = self._checkpoints.finish(shard_id)
            self._listing_due = True
        return len(records)

    def _shard_failed(self, shard_id: str, reading: _Reading, failed: _ReadFailed) -> int:
        """What a failed GetShardIterator or GetRecords on one shard means (the module docstring). Any
        other failure keeps the iterator (still good: taking a new one could mean reading the shard
        again from its oldest record) and is raised, for the pause."""
        assert self._checkpoints is not None
        if failed.code not in {"ExpiredIteratorException", "TrimmedDataAccessException", "ResourceNotFoundException"}:
            raise failed
        reading.iterator = None
        if failed.code == "ExpiredIteratorException":
            logger.info("stream reader: the iterator of shard %s expired; taking a new one", shard_id)
        elif failed.code == "TrimmedDataAccessException":
            logger.warning("stream reader: shard %s's position was trimmed (older than 24 h): records were lost; "
                           "reading it from its oldest record", shard_id)
            self._checkpoints = self._checkpoints.forget(shard_id)
            reading.start = ShardStart(IteratorType.TRIM_HORIZON)
        else:  # ResourceNotFoundException
            logger.warning("stream reader: shard %s is gone (trimmed); counted as finished", shard_id)
            del self._reading[shard_id]
            self._checkpoints = self._checkpoints.finish(shard_id)
            self._listing_due = True
        return 0
